/** \`berth probe [URL]\`: a container health check for images without curl. */
import { errorMessage } from "../errors.ts";
import type { World } from "./world.ts";

/** `berth probe URL`: a health check for images without curl; exit 0 on a 2xx answer. */
export async function probe(world: World, url: string): Promise<number> {
  try {
    const res = await world.fetch(new Request(url, { signal: AbortSignal.timeout(5000) }));
    const body = (await res.text()).slice(0, 200);
    (res.ok ? world.stdout : world.stderr)(`${res.status} ${body}`);
    return res.ok ? 0 : 1;
  } catch (error) {
    world.stderr(`berth probe: ${url}: ${errorMessage(error)}`);
    return 1;
  }
}
