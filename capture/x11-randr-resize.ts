/**
 * Changing the X screen size through RANDR 1.2 for RFB SetDesktopSize: find (or create and add)
 * a mode of the wanted size on the output in use, switch its CRTC to it, and set the screen
 * size to match, in the order that keeps the CRTC inside the screen at every step.
 *
 * Xvfb accepts only sizes up to the one it was started with (GetScreenSizeRange max); start it
 * at the largest size clients may ask for (platform-findings §4 RANDR).
 */
import type { X11Connection } from '../core/x11-connection.js';

/** RFB ExtendedDesktopSize status codes. */
export const ResizeStatus = {
  Ok: 0,
  Prohibited: 1,
  OutOfResources: 2,
  InvalidLayout: 3,
} as const;
export type ResizeStatusValue = (typeof ResizeStatus)[keyof typeof ResizeStatus];

const ROTATE_0 = 1;
/** Millimetres per pixel at 96 dpi, to keep the reported physical size plausible. */
const MM_PER_PX = 25.4 / 96;

interface ModeInfo {
  id: number;
  width: number;
  height: number;
  modeflags: number;
}

/**
 * Switches the screen to `width`×`height`. Resolves to a {@link ResizeStatus}; rejects when the
 * X connection fails (timeout, lost connection) or a RANDR query itself errors.
 */
export async function setScreenSize(conn: X11Connection, width: number, height: number): Promise<ResizeStatusValue> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) return ResizeStatus.InvalidLayout;
  let randr: any;
  try {
    randr = await conn.require('randr');
  } catch {
    return ResizeStatus.Prohibited;
  }
  if (!(randr.major_version > 1 || (randr.major_version === 1 && randr.minor_version >= 2))) return ResizeStatus.Prohibited;
  const root = conn.root;
  const range = await conn.request<{ minWidth: number; minHeight: number; maxWidth: number; maxHeight: number }>(
    (cb) => randr.GetScreenSizeRange(root, cb),
    { what: 'RRGetScreenSizeRange' },
  );
  if (width < range.minWidth || height < range.minHeight || width > range.maxWidth || height > range.maxHeight) {
    return ResizeStatus.InvalidLayout;
  }
  const res = await conn.request<{ config_timestamp: number; crtcs: number[]; outputs: number[]; modeinfos: ModeInfo[] }>(
    (cb) => randr.GetScreenResources(root, cb),
    { what: 'RRGetScreenResources' },
  );

  // The CRTC that drives the screen: the first one with a mode and an output.
  let crtc = 0;
  let crtcInfo: { mode: number; x: number; y: number; width: number; height: number; output: number[] } | null = null;
  for (const c of res.crtcs) {
    const info = await conn.request<{ mode: number; x: number; y: number; width: number; height: number; output: number[] }>(
      (cb) => randr.GetCrtcInfo(c, res.config_timestamp, cb),
      { what: 'RRGetCrtcInfo' },
    );
    if (info.mode !== 0 && info.output.length > 0) {
      crtc = c;
      crtcInfo = info;
      break;
    }
  }
  if (!crtcInfo) return ResizeStatus.Prohibited;
  const output = crtcInfo.output[0]!;
  const outInfo = await conn.request<{ modes: number[] }>((cb) => randr.GetOutputInfo(output, res.config_timestamp, cb), {
    what: 'RRGetOutputInfo',
  });

  // Prefer a mode the output already has, then any mode of that size, then a new one.
  const sized = res.modeinfos.filter((m) => m.width === width && m.height === height);
  let mode = sized.find((m) => outInfo.modes.includes(m.id))?.id ?? 0;
  try {
    if (!mode) {
      mode = sized[0]?.id ?? 0;
      if (!mode) {
        mode = await conn.request<number>(
          (cb) =>
            randr.CreateMode(
              root,
              {
                width,
                height,
                dot_clock: width * height * 60,
                h_sync_start: width,
                h_sync_end: width,
                h_total: width,
                v_sync_start: height,
                v_sync_end: height,
                v_total: height,
                name: `${width}x${height}`,
              },
              cb,
            ),
          { what: 'RRCreateMode' },
        );
      }
      await conn.request((cb) => {
        randr.AddOutputMode(output, mode);
        conn.X.GetInputFocus(cb);
      }, { what: 'RRAddOutputMode' });
    }
  } catch (err) {
    if (conn.closed) throw err;
    return ResizeStatus.OutOfResources;
  }

  const cur = await conn.request<{ width: number; height: number }>((cb) => conn.X.GetGeometry(root, cb), { what: 'GetGeometry' });
  const setScreen = (w: number, h: number) =>
    conn.request((cb) => {
      randr.SetScreenSize(root, w, h, Math.round(w * MM_PER_PX), Math.round(h * MM_PER_PX));
      conn.X.GetInputFocus(cb);
    }, { what: 'RRSetScreenSize' });
  try {
    // The CRTC must fit inside the screen at every step: grow the screen to cover both the old
    // and the new size, switch the CRTC, then shrink the screen to the new size.
    const iw = Math.max(width, cur.width);
    const ih = Math.max(height, cur.height);
    if (iw !== cur.width || ih !== cur.height) await setScreen(iw, ih);
    const r = await conn.request<{ status: number }>(
      (cb) => randr.SetCrtcConfig(crtc, 0, res.config_timestamp, 0, 0, mode, ROTATE_0, [output], cb),
      { what: 'RRSetCrtcConfig' },
    );
    if (r.status !== 0) return ResizeStatus.InvalidLayout;
    if (iw !== width || ih !== height) await setScreen(width, height);
  } catch (err) {
    if (conn.closed) throw err;
    return ResizeStatus.InvalidLayout;
  }
  return ResizeStatus.Ok;
}
