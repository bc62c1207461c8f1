import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFileList } from '../../../lib/io/fileList.js';
import { FIXTURES, temporaryDir, VTAB_LIST } from '../../helpers/fixtures.js';

describe('readFileList', () => {
  it('reads "path label" lines with paths relative to the list', async () => {
    const list = await readFileList(VTAB_LIST);
    expect(list.files).toHaveLength(64);
    // The first line of the committed list: "folder/2/000.png 2".
    expect(list.files[0]).toBe(join(FIXTURES, 'digits/folder/2/000.png'));
    expect(list.labels[0]).toBe(2);
    expect(list.lines.slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('skips blank lines, keeps their numbers, and allows spaces in paths', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'my cat.png'), '');
    writeFileSync(join(dir, 'dog.png'), '');
    writeFileSync(join(dir, 'list.txt'), 'my cat.png 0\r\n\n  dog.png   7  \n');
    const list = await readFileList(join(dir, 'list.txt'));
    expect(list.files).toEqual([join(dir, 'my cat.png'), join(dir, 'dog.png')]);
    expect(Array.from(list.labels)).toEqual([0, 7]);
    expect(list.lines).toEqual([1, 3]);
  });

  it('names the list, the line and the problem', async () => {
    const dir = temporaryDir();
    writeFileSync(join(dir, 'a.png'), '');
    const list = join(dir, 'list.txt');
    const cases: Array<[string, string]> = [
      ['a.png 0\nb.png 1\n', 'line 2: image'],
      ['a.png 0\na.png -3\n', 'line 2: label "-3" is not a class index (a non-negative integer)'],
      ['a.png 1.5\n', 'line 1: label "1.5" is not a class index'],
      ['a.png 0\n\na.png\n', 'line 3: expected "relative/path/to/image label", got "a.png"'],
      ['\n\n', 'the file list names no images'],
    ];
    for (const [text, problem] of cases) {
      writeFileSync(list, text);
      await expect(readFileList(list)).rejects.toThrow(`${list}: ${problem}`);
    }
    writeFileSync(list, 'a.png 0\nb.png 1\n');
    await expect(readFileList(list)).rejects.toThrow(`${list}: line 2: image ${join(dir, 'b.png')} not found`);
    await expect(readFileList(join(dir, 'none.txt'))).rejects.toThrow(`${join(dir, 'none.txt')}: file list not found`);
  });
});
