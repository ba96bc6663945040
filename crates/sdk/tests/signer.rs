//! `PartySigner`: what it signs is what the ledger checks, and key files load or fail by name.

use std::path::Path;

use veritrace_core::keys::KeyError;
use veritrace_core::{EnvelopeError, Hash};
use veritrace_sdk::{Action, Envelope, PartySigner, SdkError, SecretKey, ms_from_timestamp, proto};

fn action() -> Action {
    Action::RegisterProduct(proto::RegisterProduct {
        gtin: "00614141000012".into(),
        brand_party_id: "brand".into(),
        name: "Olive oil".into(),
        ..Default::default()
    })
}

fn signer() -> PartySigner {
    PartySigner::new("brand", SecretKey::from_seed_label("sdk-test/brand"), "test-net")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[test]
fn a_signed_envelope_decodes_and_verifies_with_core() {
    let signer = signer();
    let before = now_ms();
    let envelope = signer.sign_action(action());
    let after = now_ms();

    // The ledger's path: decode canonical bytes (refusing any other encoding), check the id,
    // check the signature, decode the transaction.
    let decoded = Envelope::decode(envelope.bytes()).expect("canonical envelope");
    assert_eq!(decoded.id(), Hash::digest(envelope.bytes()));
    assert_eq!(decoded.id(), envelope.id());
    assert_eq!(decoded.verify(), Ok(signer.public_key()));
    assert_eq!(decoded.signer_key(), signer.public_key().to_bytes().as_slice());

    let tx = decoded.transaction().expect("payload is a Transaction");
    assert_eq!(tx.party_id, "brand");
    assert_eq!(tx.network_id, "test-net");
    assert_eq!(tx.action, Some(action()));
    let client_ms = tx.client_time.as_ref().map(ms_from_timestamp).expect("client time set");
    assert!((before..=after).contains(&client_ms), "client time {client_ms} not in [{before}, {after}]");

    // The protobuf form re-encodes to the same canonical bytes and id.
    let again = Envelope::from_proto(envelope.to_proto()).expect("shape ok");
    assert_eq!(again.bytes(), envelope.bytes());
}

#[test]
fn every_transaction_gets_its_own_nonce() {
    let signer = signer();
    let nonces: std::collections::BTreeSet<u64> = (0..64).map(|_| signer.transaction(action()).nonce).collect();
    assert_eq!(nonces.len(), 64);
    let a = signer.sign_action(action());
    let b = signer.sign_action(action());
    assert_ne!(a.id(), b.id(), "the same action signed twice is two envelopes");
}

#[test]
fn transaction_at_uses_the_given_nonce_and_time() {
    let tx = signer().transaction_at(action(), 7, 1_700_000_000_123);
    assert_eq!(tx.nonce, 7);
    assert_eq!(tx.client_time.as_ref().map(ms_from_timestamp), Some(1_700_000_000_123));
    // Signing is deterministic for a given transaction (ed25519).
    assert_eq!(signer().sign(&tx).bytes(), signer().sign(&tx).bytes());
}

#[test]
fn a_tampered_envelope_does_not_verify() {
    let signer = signer();
    let envelope = signer.sign_action(action());

    let mut payload_changed = envelope.to_proto();
    let last = payload_changed.payload.len() - 1;
    payload_changed.payload[last] ^= 1;
    let forged = Envelope::from_proto(payload_changed).expect("shape ok");
    assert_eq!(forged.verify(), Err(EnvelopeError::Signature(KeyError::BadSignature)));
    assert_ne!(forged.id(), envelope.id());

    let mut signature_changed = envelope.to_proto();
    signature_changed.signature[0] ^= 1;
    let forged = Envelope::from_proto(signature_changed).expect("shape ok");
    assert!(forged.verify().is_err());

    // Another party's key in place of the signer's.
    let mut key_swapped = envelope.to_proto();
    key_swapped.signer_key_id = SecretKey::from_seed_label("sdk-test/other").public().to_bytes().to_vec();
    let forged = Envelope::from_proto(key_swapped).expect("shape ok");
    assert_eq!(forged.verify(), Err(EnvelopeError::Signature(KeyError::BadSignature)));

    // A flipped bit in the canonical bytes either fails to decode or fails the signature.
    let mut bytes = envelope.bytes().to_vec();
    bytes[10] ^= 0x40;
    assert!(Envelope::decode(&bytes).and_then(|e| e.verify()).is_err());
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write key file");
    path
}

#[test]
fn key_files_in_the_cli_format_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = [0x5au8; 32];
    let expected = SecretKey::from_bytes(&seed).expect("seed").public();

    // As `veritrace init` writes it: lowercase hex and a newline.
    let path = write(dir.path(), "party.key", format!("{}\n", hex::encode(seed)).as_bytes());
    let signer = PartySigner::from_key_file("brand", &path, "test-net").expect("loads");
    assert_eq!(signer.public_key(), expected);
    assert_eq!((signer.party_id(), signer.network_id()), ("brand", "test-net"));

    // Upper case and surrounding whitespace are accepted.
    let path = write(dir.path(), "upper.key", format!("  {}\r\n\n", hex::encode_upper(seed)).as_bytes());
    assert_eq!(PartySigner::from_key_file("brand", &path, "n").expect("loads").public_key(), expected);

    assert_eq!(PartySigner::from_seed("brand", &seed, "n").expect("32 bytes").public_key(), expected);
}

#[test]
fn key_file_errors_name_the_file_and_never_its_contents() {
    let dir = tempfile::tempdir().expect("temp dir");

    let missing = dir.path().join("absent.key");
    match PartySigner::from_key_file("brand", &missing, "n") {
        Err(e @ SdkError::KeyFileRead { .. }) => {
            assert!(e.to_string().contains(&missing.display().to_string()), "{e}");
            let SdkError::KeyFileRead { path, source } = e else { unreachable!() };
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected KeyFileRead, got {other:?}"),
    }

    let secret_looking = "zz-this-is-not-hex-but-secret-zz";
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.key", b"\n  \n", "empty"),
        ("text.key", secret_looking.as_bytes(), "not hexadecimal"),
        ("binary.key", &[0xff, 0xfe, 0x00], "not text"),
        ("odd.key", b"abc", "odd number of hex digits"),
        ("short.key", b"00112233445566778899aabbccddeeff", "holds 16 bytes, expected 32"),
    ];
    for (name, contents, reason_expected) in cases {
        let path = write(dir.path(), name, contents);
        match PartySigner::from_key_file("brand", &path, "n") {
            Err(e @ SdkError::KeyFileInvalid { .. }) => {
                let message = e.to_string();
                assert!(message.contains(&path.display().to_string()), "{name}: {message}");
                assert!(!message.contains(secret_looking), "{name}: message quotes the file: {message}");
                let SdkError::KeyFileInvalid { path: p, reason } = e else { unreachable!() };
                assert_eq!(p, path);
                assert_eq!(reason, reason_expected, "{name}");
            }
            other => panic!("{name}: expected KeyFileInvalid, got {other:?}"),
        }
    }
}

#[test]
fn raw_seeds_of_the_wrong_length_are_refused() {
    match PartySigner::from_seed("brand", &[1u8; 31], "n") {
        Err(SdkError::InvalidKey(KeyError::SecretKeyLength { len: 31 })) => {}
        other => panic!("expected InvalidKey, got {other:?}"),
    }
}

#[test]
fn debug_output_hides_the_secret() {
    let key = SecretKey::from_seed_label("sdk-test/brand");
    let secret = hex::encode(key.to_bytes());
    let shown = format!("{:?}", PartySigner::new("brand", key, "n"));
    assert!(!shown.contains(&secret), "{shown}");
    assert!(shown.contains("brand"));
}
