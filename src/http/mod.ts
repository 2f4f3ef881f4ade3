/**
 * HTTP/1.1, written once: the message codec (head end, request heads, reason phrases, the
 * response reader) and the tolerant server front. The status page and phone callbacks are
 * served by the front, phones are driven with the response reader, and the simulated phones
 * parse their requests with the same codec.
 */

export { basicAuthorization } from "./basic_auth.ts";
export {
  findHeadEnd,
  parseRequestHead,
  repairTarget,
  type RequestHead,
  statusText,
} from "./head.ts";
export { MAX_BODY, MAX_HEAD, type ResponseHead, ResponseReader } from "./response.ts";
export {
  type ConnInfo,
  type Handler,
  type Http1Options,
  type Http1Server,
  serveHttp1,
} from "./server.ts";
