//! [`Token`]: the user's key for a registered source.

/// Associates readiness events with the source they belong to.
///
/// A `Token` is given at registration and comes back in every [`IoEvent`](crate::IoEvent) for
/// that source. It is typically an index into the user's table of connections (see
/// [`util::Slab`](crate::util::Slab), whose keys are tokens).
///
/// `Token(usize::MAX)` is reserved for the event loop's own wake-up source: registering a
/// source with it returns an `InvalidInput` error, and it never reaches user code.
///
/// # Examples
///
/// ```
/// use ferrio::Token;
///
/// const LISTENER: Token = Token(0);
/// let conn = Token(7);
/// assert!(LISTENER < conn);
/// assert_eq!(usize::from(conn), 7);
/// assert_eq!(conn.as_usize(), 7);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

impl Token {
    /// The token's value (mio 0.5's name; the same as `token.0` and `usize::from(token)`).
    #[inline]
    pub const fn as_usize(self) -> usize {
        self.0
    }

    /// The token reserved for ferrio's internal wake-up source.
    pub(crate) const RESERVED: Token = Token(usize::MAX);

    /// Returns an error if this is the reserved token.
    pub(crate) fn check_user(self) -> std::io::Result<Token> {
        if self == Token::RESERVED {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "Token(usize::MAX) is reserved for ferrio's wake-up source",
            ))
        } else {
            Ok(self)
        }
    }
}

impl From<usize> for Token {
    fn from(val: usize) -> Token {
        Token(val)
    }
}

impl From<Token> for usize {
    fn from(val: Token) -> usize {
        val.0
    }
}
