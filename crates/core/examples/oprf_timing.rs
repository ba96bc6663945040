//! What one threshold-OPRF step costs (crates/core/src/oprf): the brand's
//! direct evaluation, a node's partial evaluation with its DLEQ proof, and
//! the asker's check of one proof. Run it in release:
//!
//! ```sh
//! cargo run --release -q -p veritrace-core --example oprf_timing
//! ```

use std::hint::black_box;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use veritrace_core::oprf::{OprfKey, blind};

/// Best of 5 runs of `iters` calls, in microseconds per call.
fn time(iters: u32, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..iters {
                f();
            }
            started.elapsed().as_secs_f64() * 1e6 / f64::from(iters)
        })
        .fold(f64::MAX, f64::min)
}

fn main() -> Result<(), veritrace_core::oprf::OprfError> {
    let mut rng = StdRng::seed_from_u64(1);
    let input = b"00614141000074CS-0001123456";
    let key = OprfKey::generate(&mut rng);
    let shares = key.split(3, 5, &mut rng)?;
    let share = &shares[0];
    let public = share.public();
    let (_, blinded) = blind(input, &mut rng);
    let (z, proof) = share.evaluate(&blinded, &mut rng);
    public.verify(&blinded, &z, &proof)?;

    let iters = 2000;
    let direct = time(iters, || {
        black_box(key.evaluate(black_box(input)));
    });
    let partial = time(iters, || {
        black_box(share.evaluate(black_box(&blinded), &mut rng));
    });
    let verify = time(iters, || {
        black_box(public.verify(black_box(&blinded), &z, &proof)).ok();
    });
    println!("OprfKey::evaluate:               {direct:6.1} µs");
    println!("KeyShare::evaluate (with proof): {partial:6.1} µs");
    println!("PublicShare::verify:             {verify:6.1} µs");
    println!("(best of 5 runs of {iters} calls each, one core)");
    Ok(())
}
