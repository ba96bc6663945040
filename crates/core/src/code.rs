//! Placeholder: verification codes land here.
