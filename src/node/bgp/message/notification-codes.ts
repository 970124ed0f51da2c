// NOTIFICATION error codes and subcodes: RFC 4271 §4.5 and §6, RFC 5492 (Unsupported Capability),
// RFC 6608 (FSM Error subcodes), RFC 4486 and RFC 8538 (Cease subcodes), RFC 7313 (ROUTE-REFRESH).

export const MESSAGE_HEADER_ERROR = 1;
export const OPEN_MESSAGE_ERROR = 2;
export const UPDATE_MESSAGE_ERROR = 3;
export const HOLD_TIMER_EXPIRED = 4;
export const FSM_ERROR = 5;
export const CEASE = 6;
export const ROUTE_REFRESH_MESSAGE_ERROR = 7;

export const HEADER = { connectionNotSynchronized: 1, badMessageLength: 2, badMessageType: 3 } as const;
export const OPEN = {
  unsupportedVersionNumber: 1,
  badPeerAs: 2,
  badBgpIdentifier: 3,
  unsupportedOptionalParameter: 4,
  unacceptableHoldTime: 6,
  unsupportedCapability: 7,
} as const;
export const UPDATE = {
  malformedAttributeList: 1,
  unrecognizedWellKnownAttribute: 2,
  missingWellKnownAttribute: 3,
  attributeFlagsError: 4,
  attributeLengthError: 5,
  invalidOrigin: 6,
  invalidNextHop: 8,
  optionalAttributeError: 9,
  invalidNetworkField: 10,
  malformedAsPath: 11,
} as const;
export const FSM = {
  unspecified: 0,
  unexpectedInOpenSent: 1,
  unexpectedInOpenConfirm: 2,
  unexpectedInEstablished: 3,
};
export const CEASE_SUBCODE = {
  maximumPrefixesReached: 1,
  administrativeShutdown: 2,
  peerDeconfigured: 3,
  administrativeReset: 4,
  connectionRejected: 5,
  otherConfigurationChange: 6,
  connectionCollisionResolution: 7,
  outOfResources: 8,
  hardReset: 9,
} as const;

const VALID_SUBCODES: Record<number, readonly number[]> = {
  [MESSAGE_HEADER_ERROR]: Object.values(HEADER),
  [OPEN_MESSAGE_ERROR]: [0, ...Object.values(OPEN)],
  [UPDATE_MESSAGE_ERROR]: [0, ...Object.values(UPDATE)],
  [HOLD_TIMER_EXPIRED]: [0],
  [FSM_ERROR]: Object.values(FSM),
  [CEASE]: [0, ...Object.values(CEASE_SUBCODE)],
  [ROUTE_REFRESH_MESSAGE_ERROR]: [1],
};

/** Whether a code/subcode pair is one the RFCs define. */
export function isDefinedNotification(code: number, subcode: number): boolean {
  return VALID_SUBCODES[code]?.includes(subcode) ?? false;
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

/** "Cease/2" style name for logs. */
export function notificationName(code: number, subcode: number): string {
  return `${CODE_NAMES[code] ?? `code ${code}`}/${subcode}`;
}
