//! Placeholder: GS1 identifiers land here.
