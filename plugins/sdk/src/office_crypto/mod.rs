//! Password-protected Office Open XML documents (MS-OFFCRYPTO): a compound
//! file holding `EncryptionInfo` and `EncryptedPackage`, the package being
//! an ordinary OOXML ZIP once decrypted.
//!
//! Two of the three schemes are read: **agile** encryption (version 4.4,
//! an XML descriptor; Office 2010 and later) and **standard** encryption
//! (versions 2.2, 3.2, 4.2; AES in ECB mode; Office 2007). Extensible
//! encryption (x.3) is not: such files stay refused as encrypted. The RC4
//! CryptoAPI encryption of binary `.doc`/`.xls`/`.ppt` is in [`rc4`]; each
//! binary format says itself where its encrypted bytes are.
//!
//! A hostile descriptor cannot make one try endless: the spin count is at
//! most [`MAX_SPIN_COUNT`] (the specification's own maximum) and every
//! iteration costs the plugin's fuel; sizes are checked against what the
//! streams hold; the package's declared size may not exceed its data. The
//! `dataIntegrity` HMAC is not checked: the decrypted package is rebuilt
//! and checked part by part like any other.

use std::io::{Read, Seek};

use aes::cipher::{BlockCipherDecrypt, KeyInit};
use sha2::Digest;

use crate::Failure;

pub mod rc4;

/// The specification's largest spin count (MS-OFFCRYPTO 2.3.4.11).
pub const MAX_SPIN_COUNT: u32 = 10_000_000;
/// Largest `EncryptionInfo` stream read.
const MAX_INFO_BYTES: u64 = 1 << 20;
/// Agile encryption decrypts the package in segments of this size.
const SEGMENT: usize = 4096;

const BLOCK_VERIFIER_INPUT: [u8; 8] = [0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79];
const BLOCK_VERIFIER_VALUE: [u8; 8] = [0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e];
const BLOCK_KEY_VALUE: [u8; 8] = [0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6];

/// True when a compound file holds an encrypted OOXML package.
pub fn is_encrypted_package<R: Read + Seek>(input: R) -> bool {
    cfb::CompoundFile::open(input)
        .is_ok_and(|file| file.is_stream("/EncryptionInfo") && file.is_stream("/EncryptedPackage"))
}

/// An encrypted package, read but not yet opened.
pub struct EncryptedPackage {
    info: Info,
    /// The `EncryptedPackage` stream: the declared size, then the data.
    package: Vec<u8>,
}

/// The key that opens a package (found by [`EncryptedPackage::key`]).
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

enum Info {
    Standard(Standard),
    Agile(Agile),
}

struct Standard {
    key_bytes: usize,
    salt: Vec<u8>,
    verifier: Vec<u8>,
    verifier_hash: Vec<u8>,
}

struct Agile {
    /// The package's own parameters.
    data_salt: Vec<u8>,
    data_block: usize,
    data_hash: Hash,
    /// The password key encryptor.
    spin: u32,
    salt: Vec<u8>,
    key_bytes: usize,
    hash: Hash,
    hash_size: usize,
    verifier_input: Vec<u8>,
    verifier_value: Vec<u8>,
    key_value: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn named(name: &str) -> Option<Hash> {
        Some(match name.to_ascii_uppercase().as_str() {
            "SHA1" | "SHA-1" => Hash::Sha1,
            "SHA256" => Hash::Sha256,
            "SHA384" => Hash::Sha384,
            "SHA512" => Hash::Sha512,
            _ => return None,
        })
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<sha1::Sha1>(parts),
            Hash::Sha256 => run::<sha2::Sha256>(parts),
            Hash::Sha384 => run::<sha2::Sha384>(parts),
            Hash::Sha512 => run::<sha2::Sha512>(parts),
        }
    }

    /// H(salt + password), then `spin` times H(iterator + previous)
    /// (MS-OFFCRYPTO 2.3.4.7 and 2.3.4.11).
    fn spin(self, salt: &[u8], password: &[u8], spin: u32) -> Vec<u8> {
        fn run<D: Digest>(salt: &[u8], password: &[u8], spin: u32) -> Vec<u8> {
            let mut hash = D::new().chain_update(salt).chain_update(password).finalize();
            for i in 0..spin {
                hash = D::new().chain_update(i.to_le_bytes()).chain_update(&hash).finalize();
            }
            hash.to_vec()
        }
        match self {
            Hash::Sha1 => run::<sha1::Sha1>(salt, password, spin),
            Hash::Sha256 => run::<sha2::Sha256>(salt, password, spin),
            Hash::Sha384 => run::<sha2::Sha384>(salt, password, spin),
            Hash::Sha512 => run::<sha2::Sha512>(salt, password, spin),
        }
    }
}

/// AES with a 128, 192 or 256-bit key.
enum Aes {
    A128(aes::Aes128),
    A192(aes::Aes192),
    A256(aes::Aes256),
}

impl Aes {
    fn new(key: &[u8]) -> Option<Aes> {
        Some(match key.len() {
            16 => Aes::A128(aes::Aes128::new_from_slice(key).ok()?),
            24 => Aes::A192(aes::Aes192::new_from_slice(key).ok()?),
            32 => Aes::A256(aes::Aes256::new_from_slice(key).ok()?),
            _ => return None,
        })
    }

    fn decrypt_block(&self, block: &mut [u8]) {
        let Ok(block) = <&mut aes::Block>::try_from(block) else { return };
        match self {
            Aes::A128(c) => c.decrypt_block(block),
            Aes::A192(c) => c.decrypt_block(block),
            Aes::A256(c) => c.decrypt_block(block),
        }
    }

    /// Decrypts whole 16-byte blocks in place, ECB (`iv` `None`) or CBC.
    fn decrypt(&self, data: &mut [u8], iv: Option<&[u8]>) {
        let mut previous = [0u8; 16];
        if let Some(iv) = iv {
            previous.copy_from_slice(&iv[..16]);
        }
        for block in data.chunks_exact_mut(16) {
            let cipher: [u8; 16] = block.try_into().unwrap_or([0; 16]);
            self.decrypt_block(block);
            if iv.is_some() {
                for (b, p) in block.iter_mut().zip(previous) {
                    *b ^= p;
                }
                previous = cipher;
            }
        }
    }
}

/// `bytes` cut or padded with 0x36 to `len` (MS-OFFCRYPTO 2.3.4.11).
fn fit(mut bytes: Vec<u8>, len: usize) -> Vec<u8> {
    bytes.resize(len, 0x36);
    bytes
}

fn utf16(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn invalid(detail: &str) -> Failure {
    Failure::invalid(format!("encrypted Office document: {detail}"))
}

impl EncryptedPackage {
    /// Reads the encryption descriptor and the encrypted package of a
    /// compound file. The package is at most `max_bytes`.
    pub fn read<R: Read + Seek>(input: R, max_bytes: u64) -> Result<EncryptedPackage, Failure> {
        let mut file = cfb::CompoundFile::open(input).map_err(|e| invalid(&format!("compound file: {e}")))?;
        let mut read = |name: &str, limit: u64| -> Result<Vec<u8>, Failure> {
            let stream = file.open_stream(name).map_err(|e| invalid(&format!("{name}: {e}")))?;
            if stream.len() > limit {
                return Err(Failure::too_large(format!("the {name} stream is larger than {limit} bytes")));
            }
            let mut data = Vec::new();
            stream.take(limit).read_to_end(&mut data).map_err(|e| invalid(&format!("{name}: {e}")))?;
            Ok(data)
        };
        let info = read("/EncryptionInfo", MAX_INFO_BYTES)?;
        let package = read("/EncryptedPackage", max_bytes)?;
        if package.len() < 8 {
            return Err(invalid("the EncryptedPackage stream is truncated"));
        }
        // A declared size beyond the data means the header lies.
        declared_size(&package)?;
        Ok(EncryptedPackage { info: parse_info(&info)?, package })
    }

    /// The scheme, for findings: `agile encryption` or `standard encryption`.
    pub fn scheme(&self) -> &'static str {
        match self.info {
            Info::Standard(_) => "standard encryption",
            Info::Agile(_) => "agile encryption",
        }
    }

    /// The key when `password` is right, `None` when it is not.
    pub fn key(&self, password: &str) -> Option<Key> {
        let password = utf16(password);
        match &self.info {
            Info::Standard(s) => {
                let spun = Hash::Sha1.spin(&s.salt, &password, 50_000);
                let hash = Hash::Sha1.digest(&[&spun, &0u32.to_le_bytes()]);
                let derive = |fill: u8| {
                    let mut buffer = [fill; 64];
                    for (b, h) in buffer.iter_mut().zip(&hash) {
                        *b ^= h;
                    }
                    Hash::Sha1.digest(&[&buffer])
                };
                let mut key = derive(0x36);
                key.extend(derive(0x5c));
                key.truncate(s.key_bytes);
                let aes = Aes::new(&key)?;
                let mut verifier = s.verifier.clone();
                aes.decrypt(&mut verifier, None);
                let mut verifier_hash = s.verifier_hash.clone();
                aes.decrypt(&mut verifier_hash, None);
                let expected = Hash::Sha1.digest(&[&verifier]);
                (verifier_hash.get(..20) == Some(&expected[..])).then_some(Key(key))
            }
            Info::Agile(a) => {
                let spun = a.hash.spin(&a.salt, &password, a.spin);
                let key_for = |block: &[u8]| fit(a.hash.digest(&[&spun, block]), a.key_bytes);
                let decrypt = |block: &[u8], data: &[u8]| -> Option<Vec<u8>> {
                    let aes = Aes::new(&key_for(block))?;
                    let mut data = data.to_vec();
                    aes.decrypt(&mut data, Some(&a.salt));
                    Some(data)
                };
                let input = decrypt(&BLOCK_VERIFIER_INPUT, &a.verifier_input)?;
                let value = decrypt(&BLOCK_VERIFIER_VALUE, &a.verifier_value)?;
                let expected = a.hash.digest(&[input.get(..a.salt.len())?]);
                if value.get(..a.hash_size)? != expected.get(..a.hash_size)? {
                    return None;
                }
                let key = decrypt(&BLOCK_KEY_VALUE, &a.key_value)?;
                Some(Key(key.get(..a.key_bytes)?.to_vec()))
            }
        }
    }

    /// The decrypted package (an OOXML ZIP), with the key [`Self::key`] found.
    pub fn decrypt(self, key: &Key) -> Result<Vec<u8>, Failure> {
        let declared = declared_size(&self.package)?;
        let mut data = self.package;
        data.drain(..8);
        let aes = Aes::new(&key.0).ok_or_else(|| invalid("unusable key size"))?;
        match &self.info {
            Info::Standard(_) => {
                let whole = data.len() - data.len() % 16;
                aes.decrypt(&mut data[..whole], None);
            }
            Info::Agile(a) => {
                for (index, segment) in data.chunks_mut(SEGMENT).enumerate() {
                    let iv = fit(a.data_hash.digest(&[&a.data_salt, &(index as u32).to_le_bytes()]), a.data_block);
                    let whole = segment.len() - segment.len() % 16;
                    aes.decrypt(&mut segment[..whole], Some(&iv));
                }
            }
        }
        data.truncate(declared);
        Ok(data)
    }
}

/// The size of the decrypted package the `EncryptedPackage` stream
/// declares. It is 8 bytes, but writers put other bytes in the upper four
/// (readers, Office's included, use the lower four): the whole value when
/// it fits the data, else the lower four; beyond the data is an error.
fn declared_size(package: &[u8]) -> Result<usize, Failure> {
    let data = package.len().saturating_sub(8) as u64;
    let whole = u64::from_le_bytes(package.get(..8).and_then(|b| b.try_into().ok()).unwrap_or([0xff; 8]));
    let low = whole & 0xffff_ffff;
    match () {
        _ if whole <= data => Ok(whole as usize),
        _ if low <= data => Ok(low as usize),
        _ => Err(invalid("the package's declared size is larger than its data")),
    }
}

fn parse_info(info: &[u8]) -> Result<Info, Failure> {
    let u16_at = |at: usize| info.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let (Some(major), Some(minor)) = (u16_at(0), u16_at(2)) else {
        return Err(invalid("the EncryptionInfo stream is truncated"));
    };
    match (major, minor) {
        (4, 4) => parse_agile(info.get(8..).unwrap_or_default()),
        (2..=4, 2) => {
            let binary = Binary::parse(info)?;
            if !matches!(binary.algorithm, 0x660E..=0x6610) {
                return Err(Failure::unsupported(format!(
                    "standard encryption with algorithm 0x{:04x} (only AES is read)",
                    binary.algorithm
                )));
            }
            if !matches!(binary.key_bits, 128 | 192 | 256) {
                return Err(invalid("unexpected key size"));
            }
            Ok(Info::Standard(Standard {
                key_bytes: binary.key_bits as usize / 8,
                salt: binary.salt.to_vec(),
                verifier: binary.verifier.to_vec(),
                verifier_hash: binary
                    .verifier_hash
                    .get(..32)
                    .ok_or_else(|| invalid("the standard EncryptionInfo is truncated"))?
                    .to_vec(),
            }))
        }
        _ => Err(Failure::encrypted(format!(
            "encryption version {major}.{minor} (extensible or RC4) is not one Sekisho opens"
        ))),
    }
}

/// The binary `EncryptionInfo` of standard and RC4 CryptoAPI encryption
/// (MS-OFFCRYPTO 2.3.2 and 2.3.3): version, flags, the header's size, the
/// header, then the verifier with a 16-byte salt.
struct Binary<'a> {
    algorithm: u32,
    key_bits: u32,
    salt: &'a [u8],
    verifier: &'a [u8],
    /// Everything after the verifier hash's size.
    verifier_hash: &'a [u8],
}

impl Binary<'_> {
    fn parse(info: &[u8]) -> Result<Binary<'_>, Failure> {
        let truncated = || invalid("the binary EncryptionInfo is truncated");
        let u32_at = |data: &[u8], at: usize| -> Result<u32, Failure> {
            let bytes = data.get(at..at + 4).ok_or_else(truncated)?;
            Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
        };
        let header_size = u32_at(info, 8)? as usize;
        let end = 12usize.checked_add(header_size).ok_or_else(truncated)?;
        let header = info.get(12..end).ok_or_else(truncated)?;
        let verifier = &info[end..];
        if u32_at(verifier, 0)? != 16 {
            return Err(invalid("a salt that is not 16 bytes"));
        }
        Ok(Binary {
            algorithm: u32_at(header, 8)?,
            key_bits: u32_at(header, 16)?,
            salt: verifier.get(4..20).ok_or_else(truncated)?,
            verifier: verifier.get(20..36).ok_or_else(truncated)?,
            verifier_hash: verifier.get(40..).ok_or_else(truncated)?,
        })
    }
}

/// Reads the attributes of `keyData` and of the password `encryptedKey`.
fn parse_agile(xml: &[u8]) -> Result<Info, Failure> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buffer = Vec::new();
    let (mut key_data, mut password_key) = (None, None);
    loop {
        match reader.read_event_into(&mut buffer) {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let attributes = || -> Vec<(String, String)> {
                    e.attributes()
                        .filter_map(Result::ok)
                        .map(|a| (a.key.local_name().as_ref().to_owned(), a.value.to_string()))
                        .collect()
                };
                match e.local_name().as_ref() {
                    "keyData" if key_data.is_none() => key_data = Some(attributes()),
                    "encryptedKey" if password_key.is_none() => password_key = Some(attributes()),
                    _ => {}
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => return Err(invalid(&format!("the agile descriptor is not XML: {e}"))),
            _ => {}
        }
        buffer.clear();
    }
    let (Some(data), Some(key)) = (key_data, password_key) else {
        return Err(Failure::encrypted("agile encryption without a password key (a certificate?)"));
    };
    let get = |attrs: &[(String, String)], name: &str| {
        attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).ok_or_else(|| invalid(&format!("no {name}")))
    };
    let number = |attrs: &[(String, String)], name: &str| -> Result<u32, Failure> {
        get(attrs, name)?.trim().parse().map_err(|_| invalid(&format!("{name} is not a number")))
    };
    let bytes = |attrs: &[(String, String)], name: &str| base64(&get(attrs, name)?).ok_or_else(|| invalid(name));
    let hash = |attrs: &[(String, String)]| {
        Hash::named(&get(attrs, "hashAlgorithm")?).ok_or_else(|| Failure::unsupported("an unknown hash algorithm"))
    };
    for attrs in [&data, &key] {
        let cipher = get(attrs, "cipherAlgorithm")?;
        let chaining = get(attrs, "cipherChaining")?;
        if !cipher.eq_ignore_ascii_case("AES") || chaining != "ChainingModeCBC" {
            return Err(Failure::unsupported(format!(
                "agile encryption with {cipher}/{chaining} (only AES-CBC is read)"
            )));
        }
        if number(attrs, "blockSize")? != 16 {
            return Err(invalid("an AES block size other than 16"));
        }
    }
    let spin = number(&key, "spinCount")?;
    if spin > MAX_SPIN_COUNT {
        return Err(invalid(&format!("a spin count of {spin}, more than the maximum of {MAX_SPIN_COUNT}")));
    }
    let key_bits = number(&key, "keyBits")?;
    if !matches!(key_bits, 128 | 192 | 256) || number(&data, "keyBits")? != key_bits {
        return Err(invalid("an AES key size other than 128, 192 or 256 bits"));
    }
    let salt = bytes(&key, "saltValue")?;
    let data_salt = bytes(&data, "saltValue")?;
    if salt.len() < 16 || data_salt.is_empty() || salt.len() > 64 || data_salt.len() > 64 {
        return Err(invalid("a salt shorter than a block"));
    }
    let hash_size = number(&key, "hashSize")? as usize;
    let agile = Agile {
        data_salt,
        data_block: 16,
        data_hash: hash(&data)?,
        spin,
        salt,
        key_bytes: key_bits as usize / 8,
        hash: hash(&key)?,
        hash_size,
        verifier_input: bytes(&key, "encryptedVerifierHashInput")?,
        verifier_value: bytes(&key, "encryptedVerifierHashValue")?,
        key_value: bytes(&key, "encryptedKeyValue")?,
    };
    let whole = |v: &[u8]| !v.is_empty() && v.len() % 16 == 0 && v.len() <= 1024;
    if !whole(&agile.verifier_input) || !whole(&agile.verifier_value) || !whole(&agile.key_value) || hash_size == 0 {
        return Err(invalid("encrypted verifier or key of the wrong size"));
    }
    Ok(Info::Agile(agile))
}

/// Standard base64 with padding, whitespace ignored.
fn base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let trimmed = clean.strip_suffix(b"==").or_else(|| clean.strip_suffix(b"=")).unwrap_or(&clean);
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for &c in trimmed {
        bits = (bits << 6) | value(c)?;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes() {
        assert_eq!(base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64("aGVs\nbG8h").unwrap(), b"hello!");
        assert!(base64("a*b").is_none());
    }

    #[test]
    fn a_declared_size_beyond_the_data_is_refused() {
        let package = |size: u64| [size.to_le_bytes().to_vec(), vec![0u8; 32]].concat();
        assert_eq!(declared_size(&package(20)).unwrap(), 20);
        assert_eq!(declared_size(&package(0x40_0000_0010)).unwrap(), 16, "only the lower four bytes are used");
        assert!(declared_size(&package(33)).is_err());
        assert!(declared_size(&package(u64::MAX)).is_err());
        assert!(declared_size(&[1, 2, 3]).is_err(), "truncated");
    }

    #[test]
    fn hostile_descriptors_are_refused_before_any_try() {
        let agile = |spin: &str| {
            let xml = format!(
                r#"<encryption><keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/><keyEncryptors><keyEncryptor><p:encryptedKey spinCount="{spin}" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="AAAAAAAAAAAAAAAAAAAAAA==" encryptedVerifierHashInput="AAAAAAAAAAAAAAAAAAAAAA==" encryptedVerifierHashValue="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" encryptedKeyValue="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="/></keyEncryptor></keyEncryptors></encryption>"#
            );
            let mut info = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
            info.extend(xml.as_bytes());
            parse_info(&info)
        };
        assert!(agile("100000").is_ok());
        let huge = agile("4000000000").err().unwrap();
        assert!(huge.detail.contains("spin count"), "{}", huge.detail);
        assert!(parse_info(&[3, 0, 3, 0]).is_err(), "extensible encryption");
        assert!(parse_info(&[4, 0, 2, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_err(), "a header size past the end");
    }
}
