/** What the service signs in to Pyrus with: the bot's login and its current security key. */
export interface BotCredentials {
  login: string;
  securityKey: string;
}

/** A bearer token and the API host it belongs to. */
export interface PyrusAuth {
  accessToken: string;
  apiUrl: string;
  filesUrl?: string;
}
