//! A stored log's lines, from its chunks: which lines are here (a line is here when the chunks
//! holding its start and its end are), which chunks hold a range of them, and the lines themselves,
//! numbered as in the container's whole log.

use std::ops::RangeInclusive;

use history_store::logs::read::ChunkLines;

/// The lines a log's stored chunks hold whole: ranges in order, with the gaps of missing chunks
/// between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Present {
    pub ranges: Vec<RangeInclusive<i64>>,
}

impl Present {
    /// `chunks` in order of their index; `first..=last` the lines of the whole kept log.
    pub fn of(chunks: &[ChunkLines]) -> Present {
        let mut ranges: Vec<RangeInclusive<i64>> = Vec::new();
        for group in groups(chunks, |c| c) {
            let (Some(head), Some(tail)) = (group.first(), group.last()) else { continue };
            let from = if head.starts_line { head.first_line } else { head.first_line + 1 };
            let to = if tail.ends_line { tail.last_line } else { tail.last_line - 1 };
            if from <= to {
                ranges.push(from..=to);
            }
        }
        Present { ranges }
    }

    pub fn count(&self) -> i64 {
        self.ranges.iter().map(|r| r.end() - r.start() + 1).sum()
    }

    /// The lines of `first..=last` that are not here.
    pub fn missing(&self, first: i64, last: i64) -> Vec<RangeInclusive<i64>> {
        let mut missing = Vec::new();
        let mut next = first;
        for range in &self.ranges {
            if *range.start() > next {
                missing.push(next..=range.start() - 1);
            }
            next = next.max(range.end() + 1);
        }
        if next <= last {
            missing.push(next..=last);
        }
        missing
    }

    /// The range of the last `count` lines here (counting across gaps).
    pub fn last(&self, count: i64) -> Option<RangeInclusive<i64>> {
        let end = *self.ranges.last()?.end();
        let mut left = count;
        for range in self.ranges.iter().rev() {
            let size = range.end() - range.start() + 1;
            if left <= size {
                return Some(range.end() - left + 1..=end);
            }
            left -= size;
        }
        self.ranges.first().map(|first| *first.start()..=end)
    }
}

/// The chunks holding any byte of the lines `wanted`.
pub fn chunks_for(chunks: &[ChunkLines], wanted: &RangeInclusive<i64>) -> Vec<i32> {
    chunks.iter().filter(|c| c.last_line >= *wanted.start() && c.first_line <= *wanted.end()).map(|c| c.chunk).collect()
}

/// Runs of chunks with consecutive indexes.
fn groups<T>(chunks: &[T], lines: impl Fn(&T) -> &ChunkLines) -> impl Iterator<Item = &[T]> {
    chunks.chunk_by(move |a, b| lines(a).chunk + 1 == lines(b).chunk)
}

/// A chunk and its text.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub lines: ChunkLines,
    pub text: String,
}

/// Calls `visit` with every whole line of `loaded` (chunks in order), numbered; `visit` answers
/// whether to go on. A line cut by a chunk that is not among them is left out.
pub fn each_line(loaded: &[Loaded], mut visit: impl FnMut(i64, &str) -> bool) {
    for group in groups(loaded, |l| &l.lines) {
        let Some(head) = group.first() else { continue };
        let mut number = head.lines.first_line;
        // The start of the group's first line lies in an earlier chunk: not a whole line.
        let mut whole = head.lines.starts_line;
        let mut pending = String::new();
        for chunk in group {
            let mut rest = chunk.text.as_str();
            while let Some(newline) = rest.find('\n') {
                let piece = &rest[..newline];
                let going_on = if !whole {
                    true
                } else if pending.is_empty() {
                    visit(number, piece)
                } else {
                    pending.push_str(piece);
                    visit(number, &std::mem::take(&mut pending))
                };
                if !going_on {
                    return;
                }
                pending.clear();
                whole = true;
                number += 1;
                rest = &rest[newline + 1..];
            }
            if whole {
                pending.push_str(rest);
            }
        }
        // A last line without a newline is whole only if it is the log's last.
        let ends = group.last().is_some_and(|tail| tail.lines.ends_line);
        if ends && whole && !pending.is_empty() && !visit(number, &pending) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks of `text` cut at `cuts` (byte offsets), numbered from line `first`, as the producer
    /// and the consumer make them.
    fn chunks(text: &str, cuts: &[usize], first: i64) -> Vec<Loaded> {
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(text.len());
        let count = bounds.len() - 1;
        let mut line = first;
        bounds
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let piece = &text[pair[0]..pair[1]];
                let newlines = piece.matches('\n').count() as i64;
                let ends_with_newline = piece.ends_with('\n');
                let lines = ChunkLines {
                    chunk: index as i32,
                    first_line: line,
                    last_line: if piece.is_empty() { line - 1 } else { line + newlines - i64::from(ends_with_newline) },
                    starts_line: pair[0] == 0 || text[..pair[0]].ends_with('\n'),
                    ends_line: ends_with_newline || index + 1 == count,
                    bytes: piece.len() as i32,
                };
                line += newlines;
                Loaded { lines, text: piece.to_owned() }
            })
            .collect()
    }

    fn all(loaded: &[Loaded]) -> Vec<(i64, String)> {
        let mut lines = Vec::new();
        each_line(loaded, |n, text| {
            lines.push((n, text.to_owned()));
            true
        });
        lines
    }

    fn metadata(loaded: &[Loaded]) -> Vec<ChunkLines> {
        loaded.iter().map(|l| l.lines).collect()
    }

    #[test]
    fn whole_logs_give_every_line_once_wherever_the_cuts_are() {
        let text = "one\ntwo\nthree is long\nfour\nfive";
        let expected: Vec<(i64, String)> =
            text.split('\n').enumerate().map(|(i, l)| (i as i64 + 11, l.to_owned())).collect();
        for cuts in [vec![], vec![4], vec![2], vec![6, 12, 16], vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 30]] {
            let loaded = chunks(text, &cuts, 11);
            assert_eq!(all(&loaded), expected, "cut at {cuts:?}");
            let present = Present::of(&metadata(&loaded));
            assert_eq!(present.ranges, vec![11..=15], "cut at {cuts:?}");
            assert!(present.missing(11, 15).is_empty());
        }
        assert_eq!(all(&chunks("a\nb\n", &[2], 1)), [(1, "a".to_owned()), (2, "b".to_owned())]);
        assert!(all(&chunks("", &[], 1)).is_empty());
        assert_eq!(Present::of(&metadata(&chunks("", &[], 1))).count(), 0);
    }

    #[test]
    fn a_missing_chunk_loses_the_lines_it_touches_and_no_other() {
        // Lines 1-2 | 3, the start of 4 | the rest of 4, 5 | 6
        let text = "l1\nl2\nl3\nl4 long\nl5\nl6\n";
        let mut loaded = chunks(text, &[6, 12, 20], 1);
        loaded.remove(2);
        let lines: Vec<i64> = all(&loaded).into_iter().map(|(n, _)| n).collect();
        assert_eq!(lines, [1, 2, 3, 6]);
        let present = Present::of(&metadata(&loaded));
        assert_eq!(present.ranges, vec![1..=3, 6..=6]);
        assert_eq!(present.missing(1, 6), vec![4..=5]);
        assert_eq!(present.last(2), Some(3..=6));
        assert_eq!(present.last(10), Some(1..=6));
        // Without the first chunk, the lines before the second's start are missing too.
        let mut loaded = chunks(text, &[6, 12, 20], 1);
        loaded.remove(0);
        assert_eq!(Present::of(&metadata(&loaded)).missing(1, 6), vec![1..=2]);
    }

    #[test]
    fn the_chunks_of_a_range_hold_its_lines_whole() {
        let text = "l1\nl2\nl3\nl4 long\nl5\nl6\n";
        let loaded = chunks(text, &[6, 12, 20], 1);
        let meta = metadata(&loaded);
        assert_eq!(chunks_for(&meta, &(4..=4)), [1, 2]);
        assert_eq!(chunks_for(&meta, &(6..=6)), [3]);
        let wanted: Vec<Loaded> = loaded.iter().filter(|l| [1, 2].contains(&l.lines.chunk)).cloned().collect();
        assert!(all(&wanted).contains(&(4, "l4 long".to_owned())));
    }
}
