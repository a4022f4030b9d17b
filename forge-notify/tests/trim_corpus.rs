#![allow(missing_docs)]
//! The reply-trimming corpus (Discourse's email_reply_trimmer cases, MIT,
//! see email-replies/LICENSE): each `emails/X` must trim to `trimmed/X`
//! exactly (the file's final line break aside). One test per file.

macro_rules! corpus {
    ($($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let email = include_str!(concat!("email-replies/emails/", stringify!($name), ".txt"));
                let want = include_str!(concat!("email-replies/trimmed/", stringify!($name), ".txt"));
                // Read as `forge mail trim` reads its input: a bare body.
                let text = forge_notify::mail::message::text(email.as_bytes()).expect("text");
                let got = forge_notify::mail::trim(&text);
                assert_eq!(got, want.trim_end_matches('\n'), "\n--- email ---\n{email}");
            }
        )*
    };
}

corpus! {
    block_code_spacers,
    delimiters,
    dual_embedded,
    email_headers_1,
    email_headers_2,
    email_headers_3,
    email_headers_4,
    email_headers_5,
    embedded_ception,
    embedded_email_1,
    embedded_email_10,
    embedded_email_11,
    embedded_email_12,
    embedded_email_13,
    embedded_email_14,
    embedded_email_15,
    embedded_email_16,
    embedded_email_17,
    embedded_email_18,
    embedded_email_19,
    embedded_email_2,
    embedded_email_3,
    embedded_email_4,
    embedded_email_5,
    embedded_email_6,
    embedded_email_7,
    embedded_email_8,
    embedded_email_9,
    embedded_email_chinese,
    embedded_email_dutch_1,
    embedded_email_dutch_2,
    embedded_email_french_1,
    embedded_email_french_2,
    embedded_email_german_1,
    embedded_email_german_2,
    embedded_email_german_3,
    embedded_email_german_4,
    embedded_email_german_5,
    embedded_email_german_6,
    embedded_email_italian,
    embedded_email_norwegian,
    embedded_email_polish_1,
    embedded_email_polish_2,
    embedded_email_portuguese,
    embedded_email_quote_text,
    embedded_email_russian_1,
    embedded_email_russian_2,
    embedded_email_spanish_1,
    embedded_email_spanish_2,
    embedded_email_swedish,
    embedded_email_ukrainian,
    forwarded_apple,
    forwarded_gmail,
    forwarded_message,
    normalize_line_endings,
    quote_and_text,
    quote_only,
    retains_spaces_and_formatting,
    signatures,
    spam_1,
    spam_2,
    strip,
    text_only,
    usenet,
}
