import Table from 'cli-table3';

/**
 * pcc's tables: plain aligned columns, two spaces apart, no borders, readable
 * in a terminal and in CI logs alike. cli-table3 lays them out (and measures
 * wide characters); this file only chooses what goes in.
 *
 * Given a width (the terminal's), a table never wraps a row, as `kubectl get`
 * and `sky status` do: columns are dropped by priority until it fits, then
 * the columns that may be cut are abbreviated with …, and a terminal narrower
 * than what is left gets each line cut at its edge. Without a width (a pipe,
 * a file, `--wide`) every column is shown whole.
 */

type CellValue = string | number | undefined;

export interface Column {
  header: string;
  /**
   * When the table is too wide, columns go in rising order of this number
   * (1 first); a column without one is never dropped. A column with nothing
   * in it (only `-`) goes before any other.
   */
  drop?: number;
  /** May be cut with … down to this many characters (after the droppable columns are gone). */
  minWidth?: number;
}

export interface TableOptions {
  /** The width to fit, in columns; undefined: no limit. */
  width?: number;
}

export interface FittedTable {
  text: string;
  /** The headers of the columns left out to fit the width that had something in them (an empty one goes unsaid). */
  hidden: string[];
}

const GAP = 2;
const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '',
};

/** Plain aligned columns, every one shown whole. */
export function table(headers: (string | Column)[], rows: CellValue[][]): string {
  return fitTable(headers, rows).text;
}

/** The table fitted to `options.width` (see the file's comment), with the columns it left out. */
export function fitTable(headers: (string | Column)[], rows: CellValue[][], options: TableOptions = {}): FittedTable {
  const columns = headers.map((h): Column => (typeof h === 'string' ? { header: h } : h));
  const cells = rows.map((r) => columns.map((_, i) => (r[i] === undefined ? '-' : String(r[i]))));
  const natural = columns.map((c, i) => Math.max(textWidth(c.header), ...cells.map((r) => textWidth(r[i]!))));
  let shown = columns.map((_, i) => i);
  const widths = [...natural];
  const total = () => shown.reduce((sum, i) => sum + widths[i]!, 0) + GAP * (shown.length - 1);
  const width = options.width;
  if (width !== undefined) {
    const empty = (i: number) => cells.length > 0 && cells.every((r) => r[i] === '-');
    const droppable = shown
      .filter((i) => columns[i]!.drop !== undefined)
      .sort((a, b) => Number(empty(b)) - Number(empty(a)) || columns[a]!.drop! - columns[b]!.drop!);
    // Room that cutting could make: a column goes only when cutting cannot make the table fit.
    const slack = () => shown.reduce((sum, i) => sum + (columns[i]!.minWidth === undefined ? 0 : Math.max(0, widths[i]! - columns[i]!.minWidth!)), 0);
    for (const i of droppable) {
      if (total() <= width) break;
      if (!empty(i) && total() - slack() <= width) break;
      shown = shown.filter((j) => j !== i);
    }
    // Then abbreviate, the widest cuttable column first, one character at a time.
    for (;;) {
      const over = total() - width;
      if (over <= 0) break;
      const cuttable = shown.filter((i) => columns[i]!.minWidth !== undefined && widths[i]! > columns[i]!.minWidth!);
      if (cuttable.length === 0) break;
      const widest = cuttable.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
      widths[widest] = Math.max(columns[widest]!.minWidth!, widths[widest]! - over);
    }
  }
  const text = render(
    shown.map((i) => columns[i]!.header),
    cells.map((r) => shown.map((i) => r[i]!)),
    shown.map((i) => (widths[i]! < natural[i]! ? widths[i]! : undefined)),
  );
  const lines = text.split('\n').map((l) => fitLine(l, width));
  const said = (i: number) => cells.some((r) => r[i] !== '-');
  return { text: lines.join('\n'), hidden: columns.flatMap((c, i) => (!shown.includes(i) && said(i) ? [c.header] : [])) };
}

/** cli-table3 without borders: each column padded to its width plus the gap, the last one not, trailing spaces trimmed. */
function render(headers: string[], rows: string[][], cut: (number | undefined)[]): string {
  const t = new Table({
    head: headers,
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': GAP, compact: true },
    // A cut column's width counts its padding; the others are laid out by cli-table3 itself.
    colWidths: cut.map((w) => (w === undefined ? null : w + GAP)) as number[],
    wordWrap: false,
  });
  t.push(...rows);
  return t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

/** What a line takes on a terminal: the table's own measure. */
function textWidth(s: string): number {
  return [...s].length;
}

function cutLine(line: string, width: number): string {
  return `${[...line].slice(0, Math.max(0, width - 1)).join('')}…`;
}

/** The terminal's width for stdout's tables; undefined when stdout is not a terminal (a pipe or a file gets every column). */
export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number | undefined {
  return stream.isTTY && stream.columns > 0 ? stream.columns : undefined;
}

/** A line cut with … where it would wrap at `width`. */
export function fitLine(line: string, width: number | undefined): string {
  return width !== undefined && textWidth(line) > width ? cutLine(line, width) : line;
}
