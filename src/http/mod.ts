/**
 * HTTP/1.1, written once (docs/architecture.md §7): the message codec (head end, request
 * heads, reason phrases, the response reader, the serialiser), the one phone client and the
 * tolerant server front. The status page and phone callbacks are served by the front, phones
 * are driven with the client, and the simulated phones parse their requests, write their
 * replies and send their action URLs with the same code.
 */

export { basicAuthorization } from "./basic_auth.ts";
export {
  netTransport,
  type PhoneReply,
  type PhoneRequest,
  type PhoneTransport,
  requestBytes,
} from "./client.ts";
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
export { responseHead } from "./write.ts";
