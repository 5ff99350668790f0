/**
 * Caps on upstream response bodies: each body stops at `max_response_mb` (a Content-Length above
 * it stops the read before the first byte), and the bodies read at once share one {@link Budget},
 * so no upstream answer, nor several together, can take the agent's memory with them.
 */
import { Budget } from "./budget.ts";
import { formatBytes } from "./bytes.ts";
import { BerthError, HttpError, type System } from "./errors.ts";

/** `http.ts`'s `Fetch`, spelt out here: importing it would make the two modules a cycle. */
type Fetch = (request: Request) => Promise<Response>;

/** The body cap when none is configured (`max_response_mb`). */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 ** 2;

/** A response body that passed the configured cap; the read stops there. */
export class ResponseTooLarge extends BerthError {
  /** `together`: this body alone was not too large, but all the bodies read at once were. */
  constructor(readonly maxBytes: number, readonly together = false) {
    super(
      together
        ? `the responses being read at once are larger than ${formatBytes(maxBytes)}`
        : `the response is larger than ${formatBytes(maxBytes)} (max_response_mb)`,
      { system: "backend", transient: together },
    );
    this.name = "ResponseTooLarge";
  }
}

/**
 * `fetch` whose response bodies stop with {@link ResponseTooLarge} past `maxBytes` (a
 * Content-Length above it stops the read before the first byte), so no upstream answer can
 * take the agent's memory with it.
 */
export function capResponses(
  fetch: Fetch,
  maxBytes: number,
  budget: Budget = new Budget(3 * maxBytes),
): Fetch {
  return async (request) => {
    const response = await fetch(request);
    if (!response.body) return response;
    const declared = Number(response.headers.get("content-length") ?? "");
    const init = {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    };
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body.cancel();
      const refused = new ReadableStream<Uint8Array>({
        start: (controller) => controller.error(new ResponseTooLarge(maxBytes)),
      });
      return new Response(refused, init);
    }
    let seen = 0;
    const release = () => {
      budget.release(seen);
      seen = 0;
    };
    const capped = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) {
            seen -= chunk.byteLength; // never taken: not given back
            release();
            controller.error(new ResponseTooLarge(maxBytes));
          } else if (!budget.take(chunk.byteLength)) {
            seen -= chunk.byteLength;
            release();
            controller.error(new ResponseTooLarge(budget.limit, true));
          } else {
            // a chunk is often a view of a larger buffer (16 KiB read into 64 KiB): the buffer is
            // what stays in memory, so a view much smaller than it is kept as a copy of its bytes
            controller.enqueue(
              chunk.byteLength * 2 <= chunk.buffer.byteLength ? chunk.slice() : chunk,
            );
          }
        },
        flush: release,
        cancel: release,
      }),
    );
    return new Response(capped, init);
  };
}

/**
 * The error a client reports for a body {@link capResponses} stopped: terminal when the body
 * alone passed the cap, transient (retried at the next pass) when only the bodies together did.
 */
export function responseTooLarge(
  system: System,
  at: { what: string; method: string; path: string; status: number },
  cause: ResponseTooLarge,
): HttpError {
  if (cause.together) {
    // this body was within the cap, but too much was being read at once: try again later
    return new HttpError(
      `${system}: cannot ${at.what}: the responses being read at once are larger than ${
        formatBytes(cause.maxBytes)
      } (twice max_response_mb); retried at the next pass`,
      { system, method: at.method, path: at.path, status: at.status, transient: true, cause },
    );
  }
  return new HttpError(
    `${system}: cannot ${at.what}: the response is larger than ${
      formatBytes(cause.maxBytes)
    }; refused (raise max_response_mb if the server is right)`,
    { system, method: at.method, path: at.path, status: at.status, transient: false, cause },
  );
}
