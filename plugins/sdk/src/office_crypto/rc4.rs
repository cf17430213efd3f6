//! RC4 CryptoAPI encryption (MS-OFFCRYPTO 2.3.5), the one binary Word,
//! Excel and PowerPoint files use since Office XP: SHA-1 of the salt and
//! the password, then one RC4 key per block number. Where the encrypted
//! bytes are, and which block number each starts with, is the format's
//! business (a PowerPoint persist object uses its persist id).

/// Applying a block's stream ([`Key::cipher`]) to bytes.
pub use rc4::StreamCipher;
use rc4::{KeyInit, Rc4};
use sha1::{Digest, Sha1};

use super::{Binary, invalid, utf16};
use crate::Failure;

/// `CALG_RC4`, the only algorithm of this scheme.
const ALGORITHM_RC4: u32 = 0x6801;

/// The verifier of an RC4 CryptoAPI `EncryptionInfo`.
pub struct CryptoApi {
    key_bytes: usize,
    salt: [u8; 16],
    verifier: [u8; 16],
    verifier_hash: [u8; 20],
}

/// The password's hash, from which each block's key is made.
pub struct Key {
    base: [u8; 20],
    key_bytes: usize,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl CryptoApi {
    /// Reads an `EncryptionInfo` (version 2, 3 or 4 point 2, RC4).
    pub fn parse(info: &[u8]) -> Result<CryptoApi, Failure> {
        let version = (info.first().copied(), info.get(2).copied());
        if !matches!(version, (Some(2..=4), Some(2))) {
            return Err(Failure::encrypted("an encryption scheme other than RC4 CryptoAPI"));
        }
        let binary = Binary::parse(info)?;
        if binary.algorithm != ALGORITHM_RC4 {
            return Err(Failure::encrypted(format!("CryptoAPI encryption with algorithm 0x{:04x}", binary.algorithm)));
        }
        // 0 means the 40-bit default.
        let key_bytes = match binary.key_bits {
            0 | 40 => 5,
            bits @ 48..=128 if bits % 8 == 0 => bits as usize / 8,
            bits => return Err(invalid(&format!("an RC4 key of {bits} bits"))),
        };
        fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], Failure> {
            bytes.try_into().map_err(|_| invalid("the RC4 verifier is truncated"))
        }
        Ok(CryptoApi {
            key_bytes,
            salt: array(binary.salt)?,
            verifier: array(binary.verifier)?,
            verifier_hash: array(binary.verifier_hash.get(..20).unwrap_or_default())?,
        })
    }

    /// The key when `password` is right, `None` when it is not: block 0
    /// decrypts the verifier and then its SHA-1, which must match.
    pub fn key(&self, password: &str) -> Option<Key> {
        let base = Sha1::new().chain_update(self.salt).chain_update(utf16(password)).finalize().into();
        let key = Key { base, key_bytes: self.key_bytes };
        let mut cipher = key.cipher(0);
        let (mut verifier, mut hash) = (self.verifier, self.verifier_hash);
        cipher.apply_keystream(&mut verifier);
        cipher.apply_keystream(&mut hash);
        (Sha1::digest(verifier)[..] == hash[..]).then_some(key)
    }
}

impl Key {
    /// The RC4 stream of block number `block`: SHA-1 of the password's hash
    /// and the block number, cut to the key size (a 40-bit key is padded to
    /// 128 bits with zeros, as CryptoAPI does).
    pub fn cipher(&self, block: u32) -> Rc4 {
        let hash = Sha1::new().chain_update(self.base).chain_update(block.to_le_bytes()).finalize();
        let mut key = [0u8; 16];
        key[..self.key_bytes].copy_from_slice(&hash[..self.key_bytes]);
        let key = if self.key_bytes == 5 { &key[..] } else { &key[..self.key_bytes] };
        Rc4::new_from_slice(key).unwrap_or_else(|_| unreachable!("RC4 takes keys of 1 to 256 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    /// An RC4 CryptoAPI `EncryptionInfo` (version 4.2) with the salt 07…07
    /// and the verifier 09…09 encrypted with "Tk9#xq2". The encrypted
    /// bytes and the key streams below come from an independent Python
    /// implementation (hashlib and a textbook RC4).
    fn info(key_bits: u32, encrypted_verifier_and_hash: &str) -> Vec<u8> {
        let mut header = Vec::new();
        for field in [0x04u32, 0, ALGORITHM_RC4, 0x8004, key_bits, 1, 0, 0] {
            header.extend(field.to_le_bytes());
        }
        header.extend(utf16("Microsoft Enhanced Cryptographic Provider v1.0\0"));
        let encrypted = hex(encrypted_verifier_and_hash);
        let mut info = vec![4, 0, 2, 0, 4, 0, 0, 0];
        info.extend((header.len() as u32).to_le_bytes());
        info.extend(header);
        info.extend(16u32.to_le_bytes());
        info.extend([7u8; 16]);
        info.extend(&encrypted[..16]);
        info.extend(20u32.to_le_bytes());
        info.extend(&encrypted[16..]);
        info
    }

    fn stream(key: &Key, block: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 16];
        key.cipher(block).apply_keystream(&mut bytes);
        bytes
    }

    #[test]
    fn known_answers_for_128_and_40_bit_keys() {
        let cases = [
            (
                128,
                "831403aa06d12403e6456ec0940cec3d1efe9c598402685a3f5bb37de36aeb06c355b9d3",
                "d81bd1fba45197457108500917c7d582",
            ),
            (
                40,
                "7380f7ace9173d6c5189a885073f0398d1213d9fd918f72bc7345cdf558272fb7dcebe32",
                "9db76362f4fbb3625647a7999c4bfb3a",
            ),
        ];
        for (bits, verifier, block_5) in cases {
            let scheme = CryptoApi::parse(&info(bits, verifier)).unwrap();
            assert!(scheme.key("wrong").is_none(), "{bits} bits");
            let key = scheme.key("Tk9#xq2").expect("the password opens it");
            assert_eq!(stream(&key, 5), hex(block_5), "{bits} bits");
            assert_ne!(stream(&key, 6), stream(&key, 5), "another block, another stream");
            assert_eq!(format!("{key:?}"), "Key(<redacted>)");
        }
    }

    #[test]
    fn other_schemes_and_truncations_are_refused() {
        let info = info(128, "831403aa06d12403e6456ec0940cec3d1efe9c598402685a3f5bb37de36aeb06c355b9d3");
        let mut aes = info.clone();
        aes[12 + 8..12 + 12].copy_from_slice(&0x660Eu32.to_le_bytes());
        assert!(CryptoApi::parse(&aes).is_err());
        for len in [0, 4, 12, 40, info.len() - 1] {
            assert!(CryptoApi::parse(&info[..len]).is_err(), "{len} bytes");
        }
    }
}
