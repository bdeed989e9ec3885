//! reStructuredText building blocks: a page with headings, labels and
//! paragraphs, nested numbered lists and list tables. The indentation rules of
//! reStructuredText live here, so the page builders only say what to show.

/// The comment every generated page starts with.
const GENERATED_NOTICE: &str = "\
.. This page is generated from the schema in schema/ by codegen. Do not edit it:
   change the schema, then run `cargo run -p codegen -- docs`.
";

/// One page of the reference, built top to bottom.
pub struct Page {
    text: String,
}

impl Page {
    /// A page with the generated notice and its title, labelled `label`.
    pub fn new(label: &str, title: &str) -> Page {
        let rule = "=".repeat(title.chars().count());
        Page {
            text: format!("{GENERATED_NOTICE}\n.. _{label}:\n\n{rule}\n{title}\n{rule}\n\n"),
        }
    }

    /// A label that `:ref:` can point at; it must come right before a heading.
    pub fn label(&mut self, name: &str) {
        self.text.push_str(&format!(".. _{name}:\n\n"));
    }

    /// A section heading underlined with `underline` (`-` for sections,
    /// `~` for subsections).
    pub fn heading(&mut self, title: &str, underline: char) {
        let rule = underline.to_string().repeat(title.chars().count());
        self.text.push_str(&format!("{title}\n{rule}\n\n"));
    }

    /// Text that is already reStructuredText (a description from the schema,
    /// or prose), followed by a blank line. Empty text adds nothing.
    pub fn text(&mut self, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.text.push_str(text);
            self.text.push_str("\n\n");
        }
    }

    /// Prose written by the generator: each paragraph wrapped to fit
    /// [`WIDTH`] columns, followed by a blank line.
    pub fn prose(&mut self, text: &str) {
        let paragraphs: Vec<String> = text.split("\n\n").map(wrap).collect();
        self.text(&paragraphs.join("\n\n"));
    }

    /// Lines built elsewhere (a list, a table), followed by a blank line.
    /// No lines add nothing.
    pub fn lines(&mut self, lines: &[String]) {
        let end = lines.iter().rposition(|l| !l.trim().is_empty());
        let Some(end) = end else { return };
        for line in &lines[..=end] {
            self.text.push_str(line.trim_end());
            self.text.push('\n');
        }
        self.text.push('\n');
    }

    /// A `.. note::` holding `text`, unless it is empty.
    pub fn note(&mut self, text: &str) {
        if text.trim().is_empty() {
            return;
        }
        self.text.push_str(".. note::\n\n");
        self.lines(&indent(text.trim(), "   "));
    }

    /// The finished page, ending with exactly one newline.
    pub fn finish(self) -> String {
        format!("{}\n", self.text.trim_end())
    }
}

/// The width the generator's own prose is wrapped to.
pub const WIDTH: usize = 79;

/// One paragraph refilled to lines of at most [`WIDTH`] columns (a longer
/// word gets a line of its own).
pub fn wrap(paragraph: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in paragraph.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}

/// `text` split into lines, each non-empty one prefixed with `prefix`.
pub fn indent(text: &str, prefix: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            if line.trim().is_empty() {
                String::new()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect()
}

/// Splits reStructuredText at its first blank line: the first paragraph, and
/// whatever follows it (possibly empty).
pub fn first_paragraph(text: &str) -> (&str, &str) {
    let text = text.trim();
    match text.find("\n\n") {
        Some(end) => (text[..end].trim_end(), text[end..].trim()),
        None => (text, ""),
    }
}

/// One item of a numbered list: its text, more paragraphs, and a nested list.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// The first paragraph; may span several lines.
    pub text: String,
    /// Paragraphs after the first, reStructuredText.
    pub more: String,
    pub children: Vec<Item>,
}

impl Item {
    pub fn new(text: impl Into<String>) -> Item {
        Item {
            text: text.into(),
            ..Item::default()
        }
    }

    pub fn with_children(text: impl Into<String>, children: Vec<Item>) -> Item {
        Item {
            text: text.into(),
            more: String::new(),
            children,
        }
    }

    /// True when the item spans more than its first paragraph, so that the
    /// next item needs a blank line before it.
    fn is_block(&self) -> bool {
        !self.more.is_empty() || !self.children.is_empty()
    }
}

/// `items` as a numbered list (`1.`, `2.`, ...), nested lists indented under
/// their item.
pub fn numbered_list(items: &[Item]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let marker = format!("{}. ", i + 1);
        let pad = " ".repeat(marker.len());
        if i > 0 && items[i - 1].is_block() {
            out.push(String::new());
        }
        let mut lines = item.text.trim().lines();
        out.push(format!("{marker}{}", lines.next().unwrap_or_default()));
        out.extend(indent(&lines.collect::<Vec<_>>().join("\n"), &pad));
        if !item.more.is_empty() {
            out.push(String::new());
            out.extend(indent(item.more.trim(), &pad));
        }
        if !item.children.is_empty() {
            out.push(String::new());
            let nested = numbered_list(&item.children).join("\n");
            out.extend(indent(&nested, &pad));
        }
    }
    out
}

/// A `list-table` with one header row. Cells are reStructuredText and may
/// span several lines.
pub fn list_table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut out = vec![
        ".. list-table::".to_string(),
        "   :header-rows: 1".to_string(),
        String::new(),
    ];
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        for (i, cell) in row.iter().enumerate() {
            let bullet = if i == 0 { "   * - " } else { "     - " };
            let mut lines = cell.trim().lines();
            out.push(format!("{bullet}{}", lines.next().unwrap_or_default()));
            out.extend(indent(&lines.collect::<Vec<_>>().join("\n"), "       "));
        }
    }
    out
}

/// Bytes as lowercase hexadecimal pairs: `5b 32 f7`.
pub fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A message code in hexadecimal with an even number of digits: `0x01`, `0x03E9`.
pub fn hex_code(code: u32) -> String {
    let digits = format!("{code:X}");
    let pad = digits.len() % 2;
    format!("0x{}{digits}", "0".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lists_are_indented_under_their_marker() {
        let items = vec![
            Item::new("**u32**: ticket"),
            Item::with_children("Optional:", vec![Item::new("**string**: a\nmore")]),
            Item::new("**bool**: last"),
        ];
        assert_eq!(
            numbered_list(&items).join("\n"),
            "1. **u32**: ticket\n2. Optional:\n\n   1. **string**: a\n      more\n\n3. **bool**: last"
        );
    }

    #[test]
    fn codes_in_hex_have_even_digits() {
        assert_eq!(hex_code(1), "0x01");
        assert_eq!(hex_code(93), "0x5D");
        assert_eq!(hex_code(1003), "0x03EB");
    }

    #[test]
    fn first_paragraph_splits_at_blank_line() {
        assert_eq!(first_paragraph("a\nb\n\nc\n"), ("a\nb", "c"));
        assert_eq!(first_paragraph("a\n"), ("a", ""));
    }
}
