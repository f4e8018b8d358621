/** Markdown tables: printed as they are to the terminal, and written to RESULTS.md. */

export type Align = 'left' | 'right';

export interface Table {
  headers: readonly string[];
  rows: readonly (readonly string[])[];
  /** Per column; default: the first column left, the others right. */
  align?: readonly Align[];
}

export function renderTable({ headers, rows, align }: Table): string {
  const alignOf = (i: number): Align => align?.[i] ?? (i === 0 ? 'left' : 'right');
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length), 3));
  const pad = (text: string, i: number) =>
    alignOf(i) === 'right' ? text.padStart(widths[i] as number) : text.padEnd(widths[i] as number);
  const line = (cells: readonly string[]) => `| ${cells.map((cell, i) => pad(cell, i)).join(' | ')} |`;
  const rule = `| ${widths.map((width, i) => (alignOf(i) === 'right' ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
