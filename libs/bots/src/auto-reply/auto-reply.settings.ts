/** `auto-reply` takes no settings; the class is there so every handler declares one, and keys in the file are ignored. */
export class AutoReplySettings {}
