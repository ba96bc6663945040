//! Property tests for verification codes.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use veritrace_core::code::{
    CodeAlphabet, CodePolicy, CodeSalt, code_digest, generate_code, normalize_code, verify_code,
};

fn arb_policy() -> impl Strategy<Value = CodePolicy> {
    (4u8..=32, prop_oneof![Just(CodeAlphabet::DIGITS), Just(CodeAlphabet::ALPHANUMERIC)])
        .prop_map(|(length, alphabet)| CodePolicy { length, alphabet })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn typed_variants_of_a_code_verify(
        policy in arb_policy(),
        seed in any::<u64>(),
        seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("-"), Just(" - ")], 32),
        lower in any::<bool>(),
        salt in any::<[u8; 16]>(),
        item in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let code = generate_code(&policy, &mut rng).expect("valid policy");
        prop_assert_eq!(code.chars().count(), usize::from(policy.length));
        prop_assert!(code.chars().all(|c| policy.alphabet.contains(c)));
        let mut typed = String::from("  ");
        for (c, sep) in code.chars().zip(&seps) {
            typed.push(if lower { c.to_ascii_lowercase() } else { c });
            typed.push_str(sep);
        }
        typed.push('\n');
        prop_assert_eq!(normalize_code(&policy, &typed), Ok(code.clone()));
        let salt = CodeSalt(salt);
        let digest = code_digest(&salt, &item, &code);
        prop_assert_eq!(verify_code(&salt, &item, &policy, &typed, &digest), Ok(true));
    }

    #[test]
    fn normalize_never_panics(policy in arb_policy(), input in any::<String>()) {
        if let Ok(code) = normalize_code(&policy, &input) {
            prop_assert_eq!(normalize_code(&policy, &code), Ok(code.clone()));
        }
    }

    #[test]
    fn arbitrary_policies_never_panic(length in any::<u8>(), alnum in any::<bool>(), input in ".{0,40}") {
        let alphabet = if alnum { CodeAlphabet::ALPHANUMERIC } else { CodeAlphabet::DIGITS };
        let policy = CodePolicy { length, alphabet };
        let ok = policy.validate().is_ok();
        prop_assert_eq!(generate_code(&policy, &mut rand::rng()).is_ok(), ok);
        if !ok {
            prop_assert!(normalize_code(&policy, &input).is_err());
        }
    }
}
