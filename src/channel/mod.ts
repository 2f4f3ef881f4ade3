/**
 * The plug-in channel (docs/channel-protocol.md): the STLI codec, the per-channel session and the
 * TCP server component. Other folders import the channel only through this file.
 */

export {
  type ChannelReason,
  encodeDisplayName,
  formatDeviceInformation,
  formatEvent,
  formatHandshakeReply,
  formatReply,
  type HandshakeOptions,
  type InputItem,
  LineDecoder,
  type LineRequest,
  modeName,
  type MonitorCommandName,
  normalizeNumber,
  parseLine,
  rawCommandReply,
  type Reply,
  type ReplyStatus,
  tokenize,
  utf8Length,
} from "./codec.ts";
export { type ChannelLimits, Session, type SessionOptions, type SessionState } from "./session.ts";
export {
  ChannelBindError,
  ChannelServer,
  type ChannelServerOptions,
  type ChannelServerStatus,
  type ChannelStatus,
} from "./server.ts";
export type {
  CallCommand,
  CallCommandName,
  CommandHandler,
  ErrorReason,
  EventSubscriber,
  Outcome,
  RawReply,
} from "../contract.ts";
