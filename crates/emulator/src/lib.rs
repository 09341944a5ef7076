//! The offline emulator of Meta's Graph API. Not built yet: it is the next piece of work (issue 3).
