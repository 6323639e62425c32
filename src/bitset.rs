//! Shared plumbing of the small flag sets [`EventSet`](crate::EventSet) and
//! [`PollOpt`](crate::PollOpt): the operators and the `Debug` output.

use std::fmt;

/// Implements `| |= & ^ - !` for a `struct Name(usize)` flag set; `!` masks to `$all`.
macro_rules! impl_flag_ops {
    ($ty:ident, $all:expr) => {
        impl std::ops::BitOr for $ty {
            type Output = $ty;
            #[inline]
            fn bitor(self, other: $ty) -> $ty {
                $ty(self.0 | other.0)
            }
        }

        impl std::ops::BitOrAssign for $ty {
            #[inline]
            fn bitor_assign(&mut self, other: $ty) {
                self.0 |= other.0;
            }
        }

        impl std::ops::BitAnd for $ty {
            type Output = $ty;
            #[inline]
            fn bitand(self, other: $ty) -> $ty {
                $ty(self.0 & other.0)
            }
        }

        impl std::ops::BitXor for $ty {
            type Output = $ty;
            #[inline]
            fn bitxor(self, other: $ty) -> $ty {
                $ty(self.0 ^ other.0)
            }
        }

        impl std::ops::Sub for $ty {
            type Output = $ty;
            #[inline]
            fn sub(self, other: $ty) -> $ty {
                $ty(self.0 & !other.0)
            }
        }

        impl std::ops::Not for $ty {
            type Output = $ty;
            #[inline]
            fn not(self) -> $ty {
                $ty(!self.0 & $all)
            }
        }
    };
}

/// Writes `Type(A | B)`, or `Type(Empty)` when no named flag is set.
pub(crate) fn fmt_flags(
    f: &mut fmt::Formatter<'_>,
    type_name: &str,
    bits: usize,
    names: &[(usize, &str)],
    empty: &str,
) -> fmt::Result {
    f.write_str(type_name)?;
    f.write_str("(")?;
    let mut first = true;
    for &(bit, name) in names {
        if bits & bit != 0 {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
    }
    if first {
        f.write_str(empty)?;
    }
    f.write_str(")")
}
