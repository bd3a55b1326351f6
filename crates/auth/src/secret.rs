//! Secret values: they print as `Name([redacted])`, have no `Display` or `Serialize`,
//! and are read only through an explicit `.secret()`.

macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw value. Every call site is a place where a secret leaves its box.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_string!(
    /// An OAuth access token. Lives in memory and in the keychain bundle, nowhere else.
    AccessToken
);
secret_string!(
    /// An OAuth refresh token. Lives in memory and in the OS keychain, nowhere else.
    RefreshToken
);
secret_string!(
    /// A compact-serialized ID token (JWS). Treated as a secret: it names the teacher.
    IdTokenJwt
);
secret_string!(
    /// A client secret for providers that insist on one. It ships inside the app, so it
    /// is *not* confidential (RFC 8252 §8.5); it only satisfies such providers.
    NonConfidentialSecret
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_is_redacted() {
        let value = "eyJhbGciOi.very-secret-value";
        let printed = format!(
            "{:?} {:?} {:?} {:?}",
            AccessToken::new(value),
            RefreshToken::new(value),
            IdTokenJwt::new(value),
            NonConfidentialSecret::new(value),
        );
        assert!(!printed.contains("secret-value"), "{printed}");
        assert_eq!(
            printed,
            "AccessToken([redacted]) RefreshToken([redacted]) IdTokenJwt([redacted]) NonConfidentialSecret([redacted])"
        );
        assert_eq!(AccessToken::new(value).secret(), value);
    }
}
