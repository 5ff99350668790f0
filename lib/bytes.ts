/**
 * Bytes in words, the one formatter of every human text Berth writes: logs, error messages,
 * `berth plan`, the messages and comments it sends to Waldur, the status page. Units are binary
 * (1 GiB = 1024³ bytes). Waldur's own limits are counted in its offering's `measured_unit`
 * ("GB"), which is binary too: 1 Waldur GB = 1 GiB; Berth says "GB" only where it quotes a
 * number as Waldur's (a component's unit, `default_storage_quota_gb`), never for bytes.
 */

/** 1 GiB: Waldur's GB limits are binary gigabytes, as the Python plugin counts them. */
export const GIB = 1024 ** 3;

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/**
 * Bytes for people: the largest binary unit that keeps the number at or above 1, with up to two
 * decimals (`10 GiB`, `1.5 GiB`, `512 MiB`, `1 B`); a negative count is `unlimited`, and `null`
 * (not known) is `–`.
 */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "–";
  if (bytes < 0) return "unlimited";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  // 1023.999 GiB rounds up to 1024.00: say 1 TiB instead
  if (Number(value.toFixed(2)) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(unit === 0 ? 0 : 2))} ${UNITS[unit]}`;
}
