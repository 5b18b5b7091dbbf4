// Numbers written as Python writes them, for files and logs that must read the same as Python's.

/** A number as Python's repr prints it (1.0, 3.2e-05). */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.0`;
  // Python switches to exponent notation below 1e-4 and from 1e16; JS at other points.
  const s = Math.abs(x) < 1e-4 || Math.abs(x) >= 1e16 ? x.toExponential() : String(x);
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}
