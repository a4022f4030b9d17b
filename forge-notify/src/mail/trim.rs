//! What a reply says, without what it quotes: the text of an e-mail reply
//! cut from the quoted original, the "On ... wrote:" line that introduces
//! it (in the languages mail clients write it in), forwarded headers,
//! signatures after a delimiter and "Sent from my phone" lines.
//!
//! Each line gets a kind, the kinds make a string (one letter per line),
//! and the cuts are patterns over that string:
//!
//! | kind | letter | lines |
//! |---|---|---|
//! | empty | `e` | blank |
//! | delimiter | `d` | `--`, `___`, `***`, `-----`: only such characters |
//! | signature | `s` | "Sent from my iPhone", "Envoyé depuis mon iPhone", ... |
//! | embedded | `b` | "On Mon, ... wrote:", "Am ... schrieb ...:", "-----Original Message-----", a Gmail date line |
//! | quote | `q` | `> ...`, Supercite `AB> ...` |
//! | header | `h` | `From:`, `Sent:`, `Subject:` (and their translations) |
//! | text | `t` | the rest, and every line of a fenced code block |
//!
//! A marker written over several lines ("On ... <\nname@host> wrote:") is
//! joined into one line first. Regular expressions here are the `regex`
//! crate's, linear in their input: a hostile message cannot make trimming
//! slow.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, checked by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("trim pattern {pattern:?}: {e}"))
}

/// Lines made only of these (and blanks) end the reply.
static DELIMITER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[[:blank:]]*(?:[-_,=+~#*—ᐧ]{2,}|[—ᐧ])[[:blank:]]*$"));

/// "Sent from my phone" in its many forms, as a whole line.
static SIGNATURES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Sent from / via / with / by ..., in several languages.
        r"(?i)^[[:punct:][:blank:]]*(?:sent|sendt|envoyé|enviado|inviato|verzonden|verstuurd|skickat|wysłane|отправлено)\s+(?:from|via|with|by|fra|depuis|desde|do|da|dal|met|vanaf|från|z|с)\b.{0,100}$",
        // From my iPhone / Von meinem Mobilgerät gesendet.
        r"(?i)^[[:punct:][:blank:]]*(?:from|von)\s+(?:my|meinem)\b.{0,60}\b(?:iphone|ipad|ipod|android|mobile|phone|handy|smartphone|tablet|galaxy|blackberry|gesendet)\b.{0,20}$",
        r"(?i)^.{0,40}\bvon meinem\b.{0,80}\bgesendet\.?$",
        r"(?i)^[[:punct:][:blank:]]*\w+ from (?:my )?(?:mobile|phone|iphone|ipad|android)\b.{0,20}$",
        r"^從我的.{0,40}傳送$",
        r"^发自我的.{0,40}$",
        r"(?i)^[[:punct:][:blank:]]*get\s+\[?outlook\b.{0,100}$",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// A line that introduces a quoted or forwarded message.
static EMBEDDED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // On <date>, <someone> wrote:   (also "---- On ... wrote ----")
        r"^(?:-+\s*)?On\b.{1,300}\bwrote\b\s*:?\s*-*\s*$",
        // On <date> <time> <someone>   (the "wrote" on a later line)
        r"^On\b.{0,100}\b\d{4}\b.{0,50}\b\d{1,2}:\d{2}\b",
        // At <date>, you wrote:
        r"^At\b.{1,100}\bwrote:\s*$",
        // Someone <someone@host> wrote:
        r"^.{1,200}<[^<>\s]+@[^<>\s]+>+\s*wrote:\s*$",
        // 2016-03-03 17:21 GMT+01:00 Someone / 2013/7/20 someone <a@b>
        r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}\s+(?:\d{1,2}:\d{2}\b.*|.*<[^<>]*@[^<>]*>.*)$",
        // Separators of Outlook, Gmail and Apple Mail.
        r"(?i)^[*[:blank:]]*-{2,}\s*(?:original message|ursprüngliche nachricht|mensaje original|message d'origine|messaggio originale|oorspronkelijk bericht|mensagem original|originalmeddelande|opprinnelig melding|forwarded message|weitergeleitete nachricht)\s*-{2,}[*[:blank:]]*$",
        r"(?i)^begin forwarded message:\s*$",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// "Wrote" in other languages: a line with one of these, a date or an
/// address, and a colon at its end introduces a message.
static WROTE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(?:\bschrieb\b|\ba écrit\b|\bha scritto\b|\bescribió\b|\bescreveu\b|\bskrev\b|\bnapisał(?:\(a\)|a)?|\bнаписал(?:\(а\)|а)?|\bнаписав\b|\bпише\b|\bgeschreven\b|\bschreef\b|写道|寫道)",
    )
});
static ENDS_WITH_COLON: LazyLock<Regex> = LazyLock::new(|| re(r"[:：]\s*$"));
static DATE_OR_ADDRESS: LazyLock<Regex> = LazyLock::new(|| re(r"\d|@"));

/// How a marker written over several lines begins.
static MARKER_START: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^(?:(?:On|Am|Le|Il|El|Em|Den|Op|Dnia|W dniu)\s|在|\d)|\bschrieb\b|\bschreef\b")
});

/// `>`, or Supercite's initials before it (`AB>`).
static QUOTE: LazyLock<Regex> = LazyLock::new(|| re(r"^[[:blank:]]*(?:>|[A-Z]{1,3}>)"));
/// The quote marks before a line's text.
static QUOTE_PREFIX: LazyLock<Regex> = LazyLock::new(|| re(r"^[[:blank:]>]*"));

/// A header of a forwarded or quoted message (Outlook writes them in
/// bold: `*From:*`).
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^[[:blank:]]*\*?(?:from|to|cc|bcc|date|sent|subject|reply-to|da|risposta|data|a|oggetto|de|envoyé|à|objet|von|gesendet|an|betreff|enviado|para|asunto|från|skickat|till|ämne|van|verzonden|aan|onderwerp|od|do|temat|wysłano|от|кому|тема|отправлено)\*?\s*:\*?[[:blank:]]+\S",
    )
});

/// Whether `line` introduces an embedded message.
fn is_embedded(line: &str) -> bool {
    let bare = QUOTE_PREFIX.replace(line, "");
    let bare = bare.trim_end();
    if bare.is_empty() || bare.chars().count() > 400 {
        return false;
    }
    EMBEDDED.iter().any(|r| r.is_match(bare))
        || (WROTE.is_match(bare)
            && ENDS_WITH_COLON.is_match(bare)
            && DATE_OR_ADDRESS.is_match(bare))
}

fn kind(line: &str) -> u8 {
    if line.trim().is_empty() {
        b'e'
    } else if DELIMITER.is_match(line) {
        b'd'
    } else if line.chars().count() <= 200 && SIGNATURES.iter().any(|r| r.is_match(line.trim())) {
        b's'
    } else if is_embedded(line) {
        b'b'
    } else if QUOTE.is_match(line) {
        b'q'
    } else if HEADER.is_match(line) {
        b'h'
    } else {
        b't'
    }
}

/// Joins a marker written over up to four lines ("On ... <" / "a@b>
/// wrote:") into one, so that it is seen as one.
fn join_markers(lines: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let unquoted = !QUOTE.is_match(line);
        // A marker not finished on its line (complete ones end with a
        // colon; "On <date> <time> <name>" may be one, or the start of one).
        if unquoted
            && !line.trim().is_empty()
            && !ENDS_WITH_COLON.is_match(line)
            && MARKER_START.is_match(line.trim_start())
        {
            let mut joined = line.trim_end().to_string();
            let mut found = None;
            for (k, next) in lines.iter().enumerate().skip(i + 1).take(3) {
                // A blank line, or the start of another marker, ends it.
                if next.trim().is_empty()
                    || (is_embedded(next) && MARKER_START.is_match(next.trim_start()))
                {
                    break;
                }
                joined.push(' ');
                joined.push_str(next.trim());
                if is_embedded(&joined) && ENDS_WITH_COLON.is_match(&joined) {
                    found = Some(k);
                    break;
                }
            }
            if let Some(last) = found {
                out.push(joined);
                i = last + 1;
                continue;
            }
        }
        out.push(line.clone());
        i += 1;
    }
    out
}

/// The kinds of `lines`, one letter each; lines of fenced code blocks are
/// text whatever they look like.
fn kinds(lines: &[String]) -> Vec<u8> {
    let mut in_code = false;
    lines
        .iter()
        .map(|l| {
            if l.trim_start().starts_with("```") {
                in_code = !in_code;
                return b't';
            }
            if in_code {
                b't'
            } else {
                kind(l)
            }
        })
        .collect()
}

/// Lines with their kinds, cut together.
struct Reply {
    lines: Vec<String>,
    kinds: Vec<u8>,
}

impl Reply {
    fn pattern(&self) -> &str {
        // Only ASCII letters are ever pushed.
        std::str::from_utf8(&self.kinds).unwrap_or("")
    }

    fn keep(&mut self, range: std::ops::Range<usize>) {
        self.lines = self.lines[range.clone()].to_vec();
        self.kinds = self.kinds[range].to_vec();
    }

    fn remove_kind(&mut self, k: u8) {
        let keep: Vec<bool> = self.kinds.iter().map(|&x| x != k).collect();
        let mut it = keep.iter();
        self.lines.retain(|_| *it.next().unwrap_or(&true));
        self.kinds.retain(|&x| x != k);
    }

    fn find(&self, pattern: &Regex) -> Option<regex::Match<'_>> {
        pattern.find(self.pattern())
    }
}

static CUT_REPLY_AT_END: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:b[^t]*)*b[bqeh]+(t[et]*)$"));
static CUT_MARKER_BEFORE_TEXT: LazyLock<Regex> = LazyLock::new(|| re(r"te*(b)[eh]*t"));
static CUT_MARKER_TO_END: LazyLock<Regex> = LazyLock::new(|| re(r"b[^t]*$"));
static CUT_QUOTE_AT_END: LazyLock<Regex> = LazyLock::new(|| re(r"t(e*[qe]+)$"));
static HEADER_RUN: LazyLock<Regex> = LazyLock::new(|| re(r"h+(?:t{1,2}h+)+"));
static CUT_HEADERS: LazyLock<Regex> = LazyLock::new(|| re(r"t[eq]*(h{3,})"));

/// The reply in `text` (a message's plain-text body): what its writer
/// wrote, without the message they answer.
pub fn trim(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines = join_markers(text.split('\n').map(String::from).collect());
    let kinds = kinds(&lines);
    let mut r = Reply { lines, kinds };

    // Everything after the first delimiter is a signature or a footer.
    if let Some(at) = r.pattern().find('d') {
        r.keep(0..at);
    }
    // "Sent from my phone", wherever it is.
    r.remove_kind(b's');
    // A header whose value goes on over the next lines.
    let pattern = r.pattern().to_string();
    for m in HEADER_RUN.find_iter(&pattern) {
        for k in &mut r.kinds[m.range()] {
            *k = b'h';
        }
    }
    // A reply written below the message it answers.
    if let Some(c) = CUT_REPLY_AT_END.captures(r.pattern()) {
        let start = c.get(1).map_or(0, |m| m.start());
        let end = r.lines.len();
        r.keep(start..end);
    }
    // A marker followed by more text than quotes: what follows it is the
    // earlier message.
    if let Some(c) = CUT_MARKER_BEFORE_TEXT.captures(r.pattern()) {
        let at = c.get(1).map_or(0, |m| m.start());
        r.keep(0..at);
    }
    // A marker followed by nothing of the writer's.
    if let Some(m) = r.find(&CUT_MARKER_TO_END) {
        let at = m.start();
        r.keep(0..at);
    }
    // The text, then the quoted message to the end.
    if let Some(c) = CUT_QUOTE_AT_END.captures(r.pattern()) {
        let at = c.get(1).map_or(0, |m| m.start());
        r.keep(0..at);
    }
    // Markers left between the writer's own lines.
    r.remove_kind(b'b');
    // A forwarded message's headers after the text.
    if let Some(c) = CUT_HEADERS.captures(r.pattern()) {
        let at = c.get(1).map_or(0, |m| m.start());
        r.keep(0..at);
    }
    let first = r.lines.iter().position(|l| !l.trim().is_empty());
    let last = r.lines.iter().rposition(|l| !l.trim().is_empty());
    match (first, last) {
        (Some(a), Some(b)) => r.lines[a..=b].join("\n"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_lines_are_not_taken_for_signatures_or_markers() {
        let text = "Sent the file yesterday, see below.\nFrom my point of view it works.\nOn this day we merged it.\n\nThanks";
        assert_eq!(trim(text), text);
    }

    #[test]
    fn windows_line_endings_and_a_reply_above_a_quote() {
        let text = "Fixed in 1.2.\r\n\r\nOn Tue, 3 Mar 2026 at 10:00, Bob <bob@example.org> wrote:\r\n> It wobbles.\r\n";
        assert_eq!(trim(text), "Fixed in 1.2.");
    }

    #[test]
    fn hostile_input_takes_linear_time_and_gives_an_answer() {
        // A megabyte of nested markers and quotes: no backtracking blow-up.
        let line =
            "> On Thu, Apr 30, 2020 at 10:06 AM, \"someone\" <someone@example.com> wrote:\n>\n";
        let text = format!("Top\n\n{}", line.repeat(12_000));
        assert_eq!(trim(&text), "Top");
        assert_eq!(trim(""), "");
        assert_eq!(trim("\n\n  \n"), "");
    }
}
