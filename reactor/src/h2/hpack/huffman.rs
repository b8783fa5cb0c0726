//! The Huffman code of HPACK string literals (RFC 7541, section 5.2 and appendix B).
//!
//! The code is canonical: within a length, codes ascend with the symbol, and each length's
//! first code follows the previous length's last. So the table is the length of each
//! symbol's code (from appendix B), and the codes are derived from it at compile time; the
//! tests hold a sample of appendix B's codes and the examples of appendix C to it.
//!
//! Decoding goes four bits at a time through a state table built once: a state is a node
//! of the code's tree, and the shortest code is five bits long, so a step ends at most one
//! symbol.

use std::sync::LazyLock;

/// The length in bits of each symbol's code: bytes 0 to 255, then EOS (256).
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // ' ' - '/'
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // '0' - '?'
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // '@' - 'O'
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 'P' - '_'
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // '`' - 'o'
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 'p' - 127
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
    30, // EOS
];

/// The end-of-string symbol: never in a valid string.
const EOS: usize = 256;

/// Each symbol's code, right-aligned, from [`LENGTHS`] (canonical assignment).
const CODES: [u32; 257] = canonical();

const fn canonical() -> [u32; 257] {
    let mut codes = [0u32; 257];
    let mut code: u32 = 0;
    let mut length: u8 = 1;
    while length <= 30 {
        let mut symbol = 0;
        while symbol < 257 {
            if LENGTHS[symbol] == length {
                codes[symbol] = code;
                code += 1;
            }
            symbol += 1;
        }
        code <<= 1;
        length += 1;
    }
    codes
}

/// Why a Huffman-coded string is invalid (RFC 7541, section 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuffmanError {
    /// "A Huffman-encoded string literal containing the EOS symbol MUST be treated as a
    /// decoding error."
    Eos,
    /// "A padding strictly longer than 7 bits MUST be treated as a decoding error", as
    /// must padding "not corresponding to the most significant bits of the code for the
    /// EOS symbol".
    Padding,
}

/// The length of `text` Huffman-coded, in bytes.
pub fn encoded_len(text: &[u8]) -> usize {
    let bits: usize = text
        .iter()
        .map(|&b| usize::from(LENGTHS[usize::from(b)]))
        .sum();
    bits.div_ceil(8)
}

/// Appends `text`, Huffman-coded and padded with the most significant bits of EOS.
pub fn encode(text: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut bits: u32 = 0;
    for &b in text {
        let length = u32::from(LENGTHS[usize::from(b)]);
        acc = (acc << length) | u64::from(CODES[usize::from(b)]);
        bits += length;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        let pad = 8 - bits;
        out.push(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
}

/// One step of the decoder: from a state, four bits lead to `next`, maybe ending a symbol.
#[derive(Clone, Copy, Default)]
struct Step {
    next: u16,
    /// 0: nothing; 1: `symbol` ends here; 2: EOS was read (an error).
    emit: u8,
    symbol: u8,
}

/// The decoder's tables: 16 steps per state, and per state whether input may end there.
struct Machine {
    steps: Vec<[Step; 16]>,
    /// Ending in this state is valid padding: fewer than 8 bits since the last symbol,
    /// all ones.
    may_end: Vec<bool>,
}

/// A node of the code's tree while the machine is built.
#[derive(Clone, Copy)]
enum Node {
    Inner([u16; 2]),
    Leaf(u16),
}

static MACHINE: LazyLock<Machine> = LazyLock::new(build);

fn build() -> Machine {
    // The tree: node 0 the root, children made as the codes are walked.
    let mut nodes: Vec<Node> = vec![Node::Inner([u16::MAX; 2])];
    for symbol in 0..257u16 {
        let (code, length) = (CODES[usize::from(symbol)], LENGTHS[usize::from(symbol)]);
        let mut at = 0usize;
        for i in (0..length).rev() {
            let bit = ((code >> i) & 1) as usize;
            let Node::Inner(children) = nodes[at] else {
                unreachable!("a prefix code: no code passes through a leaf");
            };
            at = if children[bit] == u16::MAX {
                nodes.push(if i == 0 {
                    Node::Leaf(symbol)
                } else {
                    Node::Inner([u16::MAX; 2])
                });
                let made = nodes.len() - 1;
                if let Node::Inner(children) = &mut nodes[at] {
                    children[bit] = u16::try_from(made).expect("513 nodes");
                }
                made
            } else {
                usize::from(children[bit])
            };
        }
    }
    // States are the inner nodes; number them.
    let inner: Vec<usize> = (0..nodes.len())
        .filter(|&i| matches!(nodes[i], Node::Inner(_)))
        .collect();
    let mut state_of = vec![u16::MAX; nodes.len()];
    for (state, &node) in inner.iter().enumerate() {
        state_of[node] = state as u16;
    }
    // Whether ending in a state is valid: reached from the root by 1-bits only, fewer
    // than 8 of them.
    let mut may_end = vec![false; inner.len()];
    let mut at = 0usize;
    for _ in 0..8 {
        may_end[usize::from(state_of[at])] = true;
        match nodes[at] {
            Node::Inner(children) => at = usize::from(children[1]),
            Node::Leaf(_) => break,
        }
        if !matches!(nodes[at], Node::Inner(_)) {
            break;
        }
    }
    let steps = inner
        .iter()
        .map(|&from| {
            let mut row = [Step::default(); 16];
            for (nibble, step) in row.iter_mut().enumerate() {
                let mut at = from;
                for i in (0..4).rev() {
                    let Node::Inner(children) = nodes[at] else {
                        unreachable!("steps start at inner nodes");
                    };
                    at = usize::from(children[(nibble >> i) & 1]);
                    if let Node::Leaf(symbol) = nodes[at] {
                        if usize::from(symbol) == EOS {
                            step.emit = 2;
                            break;
                        }
                        step.emit = 1;
                        step.symbol = symbol as u8;
                        at = 0;
                    }
                }
                step.next = state_of[at];
            }
            row
        })
        .collect();
    Machine { steps, may_end }
}

/// Appends the decoding of the Huffman-coded `coded`.
pub fn decode(coded: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let machine = &*MACHINE;
    let mut state = 0u16;
    for &byte in coded {
        for nibble in [byte >> 4, byte & 0xf] {
            let step = machine.steps[usize::from(state)][usize::from(nibble)];
            match step.emit {
                1 => out.push(step.symbol),
                2 => return Err(HuffmanError::Eos),
                _ => {}
            }
            state = step.next;
        }
    }
    if machine.may_end[usize::from(state)] {
        Ok(())
    } else {
        Err(HuffmanError::Padding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::hpack::tests::hex;

    #[test]
    fn codes_are_appendix_bs() {
        // (symbol, code, length) as appendix B prints them.
        let sample = [
            (0usize, 0x1ff8u32, 13u8),
            (1, 0x7fffd8, 23),
            (9, 0xffffea, 24),
            (10, 0x3ffffffc, 30),
            (32, 0x14, 6),
            (48, 0x0, 5),
            (97, 0x3, 5),
            (92, 0x7fff0, 19),
            (127, 0xffffffc, 28),
            (128, 0xfffe6, 20),
            (199, 0x1ffffec, 25),
            (220, 0xffffffd, 28),
            (255, 0x3ffffee, 26),
            (256, 0x3fffffff, 30),
        ];
        for (symbol, code, length) in sample {
            assert_eq!((CODES[symbol], LENGTHS[symbol]), (code, length), "{symbol}");
        }
    }

    #[test]
    fn appendix_c_strings_round_trip() {
        // Strings of RFC 7541's examples C.4 and C.6 with their Huffman codings.
        let cases = [
            ("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
            ("no-cache", "a8eb 1064 9cbf"),
            ("custom-key", "25a8 49e9 5ba9 7d7f"),
            ("custom-value", "25a8 49e9 5bb8 e8b4 bf"),
            ("302", "6402"),
            ("private", "aec3 771a 4b"),
            (
                "Mon, 21 Oct 2013 20:13:21 GMT",
                "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
            ),
            (
                "https://www.example.com",
                "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
            ),
        ];
        for (text, coded) in cases {
            let coded = hex(coded);
            let mut out = Vec::new();
            encode(text.as_bytes(), &mut out);
            assert_eq!(out, coded, "{text}");
            assert_eq!(encoded_len(text.as_bytes()), coded.len(), "{text}");
            let mut back = Vec::new();
            decode(&coded, &mut back).expect("valid");
            assert_eq!(back, text.as_bytes());
        }
    }

    #[test]
    fn every_byte_round_trips_and_bad_padding_is_refused() {
        let all: Vec<u8> = (0..=255).collect();
        let mut coded = Vec::new();
        encode(&all, &mut coded);
        let mut back = Vec::new();
        decode(&coded, &mut back).expect("valid");
        assert_eq!(back, all);
        // Padding of zeros, padding of eight ones or more, and EOS itself.
        let cases: [(&[u8], HuffmanError); 3] = [
            (&[0x00], HuffmanError::Padding), // '0' then 3 zero bits
            (&[0xff], HuffmanError::Padding),
            (&[0xff, 0xff, 0xff, 0xff], HuffmanError::Eos),
        ];
        for (coded, error) in cases {
            assert_eq!(decode(coded, &mut Vec::new()), Err(error), "{coded:?}");
        }
        assert_eq!(decode(&[], &mut Vec::new()), Ok(()));
    }
}
