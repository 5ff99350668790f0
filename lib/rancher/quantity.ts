/**
 * Kubernetes quantities (`io.k8s.apimachinery.pkg.api.resource.Quantity`), the whole grammar:
 *
 * ```
 * quantity ::= signedNumber suffix
 * suffix   ::= binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (m, "", k, M, G, T, P, E)
 *            | decimalExponent ("e" or "E" followed by a signed integer)
 * number   ::= digits | digits "." digits | digits "." | "." digits
 * ```
 *
 * The Python agent read only `m`, `Ki`, `Mi` and `Gi`, so a `1G` or `1e3` broke a whole usage
 * report; here every form parses, and anything else is a clear error.
 */
import { terminal } from "../errors.ts";

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE])?)$/;

/** The value of a quantity string (`"250m"` → 0.25, `"1Gi"` → 1073741824, `"1e3"` → 1000). */
export function parseQuantity(text: string): number {
  const m = QUANTITY.exec(text.trim());
  if (!m || text.trim() !== text) {
    throw terminal("kubernetes", `"${text.slice(0, 40)}" is not a Kubernetes quantity`);
  }
  const number = Number(m[1]);
  if (m[2]) return number * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? "";
  const factor = BINARY[suffix] ?? DECIMAL[suffix];
  if (factor === undefined) throw terminal("kubernetes", `unknown quantity suffix in "${text}"`);
  // Multiply by integers where possible so "1500m" is exactly 1.5, not 1.5000000000000002.
  return suffix === "m" ? number / 1000 : number * factor;
}

/** CPU cores as Rancher's quota string: 2.5 → `"2500m"`. */
export function cpuQuantity(cores: number): string {
  return `${Math.round(cores * 1000)}m`;
}

/** GB (1024³ bytes, as Waldur's limit) as a memory quota string: 8 → `"8192Mi"`. */
export function memoryQuantity(gb: number): string {
  return `${Math.round(gb * 1024)}Mi`;
}
