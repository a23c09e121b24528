/**
 * Plain-text tables for the terminal report. Pure: returns the text, the caller prints it.
 */

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned; labels left. Default 'left'. */
  readonly align?: 'left' | 'right';
}

/**
 * Renders `rows` under `columns` with one space of padding and a rule under the header. Rows
 * shorter than the column list are padded with empty cells; extra cells are an error (a
 * programming mistake worth failing loudly on).
 */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  for (const r of rows) {
    if (r.length > columns.length) throw new RangeError(`row has ${r.length} cells, table has ${columns.length} columns`);
  }
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const v = cells[i] ?? '';
        return c.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(line(r));
  return out.join('\n');
}
