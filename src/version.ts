/** tsnspawn's version: `tsnspawn version`, the Docker API's `/version` and `Server` header. */
export const VERSION = "0.1.0";
