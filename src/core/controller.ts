/**
 * The controller's identity, owned here: its host name (which is also its
 * group and its ssh alias) and the group every provider gives it. Providers,
 * the registry lookup and the cluster plan all read these.
 */
export const CONTROLLER_NAME = 'init';
export const CONTROLLER_GROUP = 'controller';
