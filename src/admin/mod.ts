/**
 * The HTTP side of the server on `serverHttpPort`: the status page, `/healthz`, `/metrics`
 * (docs/status-page.md) and the phone callback route, behind the tolerant HTTP/1.1 front.
 */
export { ADMIN_USER, type AdminDeps, type AdminEnv, createAdminApp, isLoopback } from "./app.ts";
export { defaultLoginDelayMs } from "./failed_logins.ts";
export { callInWords, callsInProgress, renderPage, renderSections, SECTIONS } from "./page.ts";
export type {
  CallsView,
  CallView,
  ChannelView,
  ConfigurationView,
  FindingView,
  Health,
  LastCommandView,
  ListenersView,
  MetricsText,
  PhoneView,
  ProblemView,
  ProviderView,
  StatusView,
} from "./view.ts";

export { AdminServer, frontHandler, type ListenerDeps, listenerWords } from "./listener.ts";
