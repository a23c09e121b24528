import { describe, expect, it } from 'vitest';
import {
  classifyCommand,
  CommandLedger,
  MAX_COMMANDS_PER_POLL,
  parseCommandList,
} from '../../gateway/commands.js';

describe('parseCommandList', () => {
  it('accepts the gateway array and the {commands} wrapper', () => {
    const list = [{ id: 'a', command: '__STOP__', created_at: 1 }];
    expect(parseCommandList(list)).toEqual([{ id: 'a', command: '__STOP__' }]);
    expect(parseCommandList({ commands: list })).toEqual([{ id: 'a', command: '__STOP__' }]);
    expect(parseCommandList([{ id: 'b', command: 'x', arguments: '{}' }])).toEqual([{ id: 'b', command: 'x', arguments: '{}' }]);
    expect(parseCommandList(undefined)).toEqual([]);
  });

  it('drops entries it could not ack and rejects non-lists', () => {
    expect(parseCommandList([null, 5, { command: 'x' }, { id: '', command: 'x' }, { id: 'ok', command: 7 }, { id: 'y', command: 'z' }])).toEqual([
      { id: 'y', command: 'z' },
    ]);
    expect(() => parseCommandList({ foo: 1 })).toThrow(/neither an array/);
    expect(() => parseCommandList('nope')).toThrow();
  });

  it('bounds the number of commands taken from one poll', () => {
    const many = Array.from({ length: MAX_COMMANDS_PER_POLL + 50 }, (_, i) => ({ id: `c${i}`, command: 'x' }));
    expect(parseCommandList(many)).toHaveLength(MAX_COMMANDS_PER_POLL);
  });
});

describe('classifyCommand', () => {
  it('knows start and stop, everything else is unknown', () => {
    expect(classifyCommand('__START_VNC_STREAM__')).toBe('start');
    expect(classifyCommand('__STOP__')).toBe('stop');
    expect(classifyCommand('__HALT__')).toBe('unknown');
    expect(classifyCommand('__INPUT__:ls')).toBe('unknown');
    expect(classifyCommand('__stop__')).toBe('unknown');
  });
});

describe('CommandLedger', () => {
  it('claims an id once until released', () => {
    const l = new CommandLedger();
    expect(l.claim('a')).toBe(true);
    expect(l.claim('a')).toBe(false);
    l.release('a');
    expect(l.claim('a')).toBe(true);
  });

  it('forgets the oldest ids beyond its capacity', () => {
    const l = new CommandLedger(3);
    for (const id of ['a', 'b', 'c', 'd']) l.claim(id);
    expect(l.has('a')).toBe(false);
    expect(l.has('d')).toBe(true);
  });
});
