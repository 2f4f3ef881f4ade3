/**
 * The simulated SNOM phone (docs/snom.md §9): a real HTTP server per phone, wired into a
 * network so phones call each other by extension. Demo mode (`demoPhones`) and the tests of
 * every feature use it; see `network.ts` for a short example.
 */

export { ACTION_SETTINGS, type FiredAction, substitute } from "./actions.ts";
export {
  CallModel,
  type CallModelOptions,
  type Effect,
  type EndHow,
  isKnownKey,
  KNOWN_KEYS,
  type Peer,
  type SimCall,
  type SimCallState,
  type SimEventName,
  type SimParty,
} from "./calls.ts";
export { SimDemoPhones, SimNetwork, type SimNetworkOptions } from "./network.ts";
export {
  type Concurrency,
  type DialReply,
  type RemoteFormat,
  type RequestRecord,
  type SimEndpoint,
  type SimFault,
  SimPhone,
  type SimPhoneOptions,
} from "./phone.ts";
export {
  parseProvisioning,
  substituteYealink,
  trustedBy,
  YEALINK_ACTION_SETTINGS,
  type YealinkOptions,
  YealinkPhone,
} from "./yealink.ts";
