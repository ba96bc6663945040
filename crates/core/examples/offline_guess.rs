//! How long an offline search of one item's 6-digit code space takes for
//! someone who holds the item's salt and code digest (what a validator's
//! replica stores): the per-guess cost behind ARCHITECTURE.md's threat
//! model. Run it in release:
//!
//! ```sh
//! cargo run --release -p veritrace-core --example offline_guess
//! ```

use std::time::Instant;

use veritrace_core::code::{CodeSalt, code_digest};

fn main() {
    let salt = CodeSalt([7; 16]);
    let key = b"00614141000074CS-0001";
    let target = code_digest(&salt, key, "999999");
    let runs = 5;
    let mut best = f64::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        let mut found = None;
        for n in 0..1_000_000u32 {
            if code_digest(&salt, key, &format!("{n:06}")) == target {
                found = Some(n);
            }
        }
        assert_eq!(found, Some(999_999), "the search finds the code");
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!(
        "all 10^6 six-digit codes of one item: {best:.3} s on one core (best of {runs}), {:.0} ns per guess",
        best * 1e3
    );
}
