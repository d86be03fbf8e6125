//! The Bescheid as PDF/A-3a and PDF/UA-1 (tagged, headings and outline, every character mapped
//! to Unicode, fonts embedded, the ledger receipt attached) with
//! `krilla`: letterhead, recipient, case number and date, the decision, its reasons, the rules
//! checked for an automated decision, the legal basis, the legal remedy, and where the decision
//! stands in the ledger. The text is set in DejaVu Sans (from the `dejavu` crate), measured
//! with `skrifa` for line breaks.

use krilla::configure::{Accessibility, Archival, ConfigurationBuilder};
use krilla::destination::XyzDestination;
use krilla::outline::{Outline, OutlineNode};
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::tagging::{ArtifactType, ContentTag, Node, SpanTag, Tag, TagGroup, TagTree};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Document, SerializeSettings};
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// What a Bescheid says. Built by the casework layer from the case file and the decision.
#[derive(Debug, Clone)]
pub struct Bescheid {
    pub authority_name: String,
    pub authority_address: String,
    pub case_number: String,
    /// German date, e.g. `22.11.2026`.
    pub date: String,
    /// When the document is made (its metadata).
    pub created: time::OffsetDateTime,
    /// Name and address lines of the recipient.
    pub recipient: Vec<String>,
    pub service_name: String,
    /// One sentence: granted or refused.
    pub verdict: String,
    pub reason: String,
    /// For an automated decision: the permitting law and each rule with its explanation.
    pub automated: Option<(String, Vec<(String, String)>)>,
    pub legal_basis: String,
    pub remedy: String,
    /// Where the decision stands in the ledger, one paragraph.
    pub ledger: Option<String>,
    /// The ledger receipt of the decision (JSON), embedded as `quittung.json` so that it can be
    /// checked offline (`amtsweg ledger verify-receipt`).
    pub receipt: Option<Vec<u8>>,
}

/// The name of the embedded receipt.
pub const RECEIPT_FILE: &str = "quittung.json";

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 70.0;
const RIGHT: f32 = 60.0;
const TOP: f32 = 60.0;
const BOTTOM: f32 = 70.0;

struct Face {
    font: Font,
    metrics: FontRef<'static>,
    shaper: rustybuzz::Face<'static>,
    /// Lines shaped before: most of a Bescheid is the same text each time.
    shaped: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Vec<KrillaGlyph>>>>,
}

/// Shaped lines kept per face at most.
const SHAPED_KEPT: usize = 4096;

impl Face {
    fn new(data: &'static [u8]) -> Result<Self, String> {
        let font = Font::new(data.into(), 0).ok_or("Schrift nicht lesbar")?;
        let metrics = FontRef::new(data).map_err(|_| "Schrift nicht lesbar")?;
        let shaper = rustybuzz::Face::from_slice(data, 0).ok_or("Schrift nicht lesbar")?;
        Ok(Self { font, metrics, shaper, shaped: Default::default() })
    }

    /// The glyphs of a line (shaped with kerning, in either direction), each with the range of
    /// the text it shows (for the text layer: copy, search, screen readers).
    fn glyphs(&self, text: &str) -> std::sync::Arc<Vec<KrillaGlyph>> {
        if let Some(g) = self.shaped.lock().ok().and_then(|m| m.get(text).cloned()) {
            return g;
        }
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let output = rustybuzz::shape(&self.shaper, &[], buffer);
        let em = f32::from(self.shaper.units_per_em() as u16);
        let (infos, positions) = (output.glyph_infos(), output.glyph_positions());
        // A glyph's text runs from its cluster to the next larger cluster of the line.
        let mut starts: Vec<usize> = infos.iter().map(|g| g.cluster as usize).collect();
        starts.sort_unstable();
        starts.dedup();
        let glyphs: Vec<KrillaGlyph> = infos
            .iter()
            .zip(positions)
            .map(|(info, pos)| {
                let start = info.cluster as usize;
                let end = starts.get(starts.partition_point(|&c| c <= start)).copied().unwrap_or(text.len());
                KrillaGlyph::new(
                    GlyphId::new(info.glyph_id),
                    pos.x_advance as f32 / em,
                    pos.x_offset as f32 / em,
                    pos.y_offset as f32 / em,
                    pos.y_advance as f32 / em,
                    start..end,
                    None,
                )
            })
            .collect();
        let glyphs = std::sync::Arc::new(glyphs);
        if let Ok(mut m) = self.shaped.lock() {
            if m.len() >= SHAPED_KEPT {
                m.clear();
            }
            m.insert(text.to_owned(), glyphs.clone());
        }
        glyphs
    }

    /// Measures text at `size`: the face's tables are read once per measure, not per call.
    fn measure(&self, size: f32) -> impl Fn(&str) -> f32 {
        let charmap = self.metrics.charmap();
        let glyphs = self.metrics.glyph_metrics(Size::new(size), LocationRef::default());
        move |text: &str| text.chars().map(|c| glyphs.advance_width(charmap.map(c).unwrap_or_default()).unwrap_or(size * 0.5)).sum()
    }

    /// The text with every character the face cannot show (and private-use and control
    /// characters) replaced by `?`: PDF/A refuses glyphless text, and a Bescheid must not fail
    /// because of what someone typed.
    fn printable(&self, text: &str) -> String {
        let charmap = self.metrics.charmap();
        text.chars()
            .map(|c| {
                let private = matches!(c as u32, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF);
                if c == ' ' || (!c.is_control() && !private && charmap.map(c).is_some_and(|g| g.to_u32() != 0)) { c } else { '?' }
            })
            .collect()
    }

    /// Breaks a paragraph into lines no wider than `max`.
    /// Each word is measured once (lines are measured by their words and spaces, without
    /// kerning between them, as before).
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let width = self.measure(size);
        let space = width(" ");
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut line_width = 0.0;
        for word in text.split_whitespace() {
            let word_width = width(word);
            if line.is_empty() {
                (line, line_width) = (word.to_owned(), word_width);
            } else if line_width + space + word_width <= max {
                line.push(' ');
                line.push_str(word);
                line_width += space + word_width;
            } else {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
                line_width = word_width;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// One block of the letter, in reading order.
enum Block {
    /// A heading of level 1 (the letter's title) or 2 (its sections).
    Heading(u16, String),
    Paragraph { text: String, bold: bool, size: f32 },
    Gap(f32),
}

fn blocks(b: &Bescheid) -> Vec<Block> {
    let p = |t: &str| Block::Paragraph { text: t.to_owned(), bold: false, size: 10.5 };
    let mut out = vec![
        Block::Paragraph { text: b.authority_name.clone(), bold: true, size: 15.0 },
        Block::Paragraph { text: b.authority_address.clone(), bold: false, size: 9.0 },
        Block::Gap(18.0),
    ];
    for line in &b.recipient {
        out.push(p(line));
    }
    out.push(Block::Gap(14.0));
    out.push(p(&format!("Aktenzeichen: {}", b.case_number)));
    out.push(p(&format!("Datum: {}", b.date)));
    out.push(Block::Gap(10.0));
    out.push(Block::Heading(1, format!("Bescheid über Ihren Antrag „{}“", b.service_name)));
    out.push(p("Sehr geehrte Antragstellerin, sehr geehrter Antragsteller,"));
    out.push(Block::Paragraph { text: b.verdict.clone(), bold: true, size: 10.5 });
    out.push(Block::Heading(2, "Begründung".into()));
    for para in b.reason.split("\n\n").map(str::trim).filter(|s| !s.is_empty()) {
        out.push(p(&para.replace('\n', " ")));
    }
    if let Some((basis, rules)) = &b.automated {
        out.push(Block::Heading(2, "Automatisierte Entscheidung".into()));
        out.push(p(&format!(
            "Dieser Bescheid wurde vollständig durch automatische Einrichtungen erlassen (§ 35a Verwaltungsverfahrensgesetz in Verbindung mit {basis}). Geprüft wurden:"
        )));
        for (label, explanation) in rules {
            out.push(p(&format!("{label}: {explanation}")));
        }
    }
    out.push(Block::Heading(2, "Rechtsgrundlage".into()));
    out.push(p(&b.legal_basis));
    out.push(Block::Heading(2, "Rechtsbehelfsbelehrung".into()));
    out.push(p(&b.remedy));
    if let Some(ledger) = &b.ledger {
        out.push(Block::Heading(2, "Nachweis im Transparenzprotokoll".into()));
        out.push(p(ledger));
    }
    out.push(Block::Gap(10.0));
    out.push(p("Mit freundlichen Grüßen"));
    out.push(p(&b.authority_name));
    out
}

/// The two faces, parsed once per process.
fn faces() -> Result<&'static (Face, Face), String> {
    static FACES: std::sync::OnceLock<Result<(Face, Face), String>> = std::sync::OnceLock::new();
    FACES
        .get_or_init(|| Ok((Face::new(dejavu::sans::regular())?, Face::new(dejavu::sans::bold())?)))
        .as_ref()
        .map_err(Clone::clone)
}

/// Renders the Bescheid; an error names what went wrong (never the letter's content).
pub fn render(b: &Bescheid) -> Result<Vec<u8>, String> {
    let (regular, bold) = faces()?;
    let configuration = ConfigurationBuilder::new()
        // PDF/A-3 (level a: tagged, Unicode) allows the receipt as an associated file; PDF/UA-1
        // for screen readers (tags, headings, outline, language, title).
        .with_archival_validator(Archival::A3_A)
        .with_accessibility_validator(Accessibility::UA1)
        .finish()
        .map_err(|e| format!("PDF-Konfiguration: {e:?}"))?;
    // Page content is a few KiB of text operators: left uncompressed, which saves a third of the
    // rendering time; the embedded font subsets are compressed regardless.
    let settings = SerializeSettings { configuration, enable_tagging: true, compress_content_streams: false, ..Default::default() };
    let mut document = Document::new_with(settings);
    let mut tree = TagTree::new().with_lang(Some("de-DE".into()));
    let width = PAGE_W - LEFT - RIGHT;

    // Lay out first, so that every page knows the page count for its footer.
    struct Line {
        text: String,
        bold: bool,
        size: f32,
        y: f32,
        page: usize,
        block: usize,
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut y = TOP;
    let mut page = 0;
    let all = blocks(b);
    for (index, block) in all.iter().enumerate() {
        let (text, is_bold, size, before, after) = match block {
            Block::Gap(g) => {
                y += g;
                continue;
            }
            Block::Heading(level, t) => (t.as_str(), true, if *level == 1 { 13.5 } else { 12.5 }, 8.0, 4.0),
            Block::Paragraph { text, bold, size } => (text.as_str(), *bold, *size, 0.0, 5.0),
        };
        let face = if is_bold { bold } else { regular };
        let leading = size * 1.4;
        y += before;
        for text in face.wrap(&face.printable(text), size, width) {
            if y + leading > PAGE_H - BOTTOM {
                page += 1;
                y = TOP;
            }
            y += leading;
            lines.push(Line { text, bold: is_bold, size, y, page, block: index });
        }
        y += after;
    }
    let pages = page + 1;
    // The outline: the title, with the sections below it, each pointing at its first line.
    let mut outline = Outline::new();
    let mut title: Option<OutlineNode> = None;
    for (index, block) in all.iter().enumerate() {
        let Block::Heading(level, text) = block else { continue };
        let Some(line) = lines.iter().find(|l| l.block == index) else { continue };
        let node = OutlineNode::new(text.clone(), XyzDestination::new(line.page, Point::from_xy(LEFT, line.y - line.size * 1.4)));
        match (level, title.as_mut()) {
            (1, _) => {
                if let Some(t) = title.take() {
                    outline.push_child(t);
                }
                title = Some(node);
            }
            (_, Some(t)) => t.push_child(node),
            (_, None) => outline.push_child(node),
        }
    }
    if let Some(t) = title {
        outline.push_child(t);
    }

    let mut groups: Vec<Option<TagGroup>> = all
        .iter()
        .map(|block| match block {
            Block::Heading(level, t) => Some(TagGroup::new(Tag::Hn(std::num::NonZeroU16::new(*level).unwrap_or(std::num::NonZeroU16::MIN), Some(t.clone())))),
            Block::Paragraph { .. } => Some(TagGroup::new(Tag::P)),
            Block::Gap(_) => None,
        })
        .collect();
    for page_index in 0..pages {
        let mut page = document.start_page_with(PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("Seitengröße")?);
        let mut surface = page.surface();
        for line in lines.iter().filter(|l| l.page == page_index) {
            let face = if line.bold { bold } else { regular };
            let id = surface.start_tagged(ContentTag::Span(SpanTag::empty()));
            draw(&mut surface, face, line.size, LEFT, line.y, &line.text);
            surface.end_tagged();
            if let Some(Some(group)) = groups.get_mut(line.block) {
                group.push(id);
            }
        }
        let footer = format!("Seite {} von {pages} · Aktenzeichen {}", page_index + 1, b.case_number);
        surface.start_tagged(ContentTag::Artifact(krilla::tagging::Artifact::with_kind(ArtifactType::Footer)));
        draw(&mut surface, regular, 8.0, LEFT, PAGE_H - BOTTOM / 2.0, &regular.printable(&footer));
        surface.end_tagged();
        surface.finish();
        page.finish();
    }
    let mut section = TagGroup::new(Tag::Section);
    for group in groups.into_iter().flatten() {
        section.push(Node::Group(group));
    }
    tree.push(Node::Group(section));
    document.set_tag_tree(tree);
    document.set_outline(outline);
    let created = {
        let t = b.created.to_offset(time::UtcOffset::UTC);
        krilla::metadata::DateTime::new(t.year() as u16)
            .month(u8::from(t.month()))
            .day(t.day())
            .hour(t.hour())
            .minute(t.minute())
            .second(t.second())
            .utc_offset_hour(0)
            .utc_offset_minute(0)
    };
    if let Some(receipt) = &b.receipt {
        document
            .embed_file(EmbeddedFile {
                path: RECEIPT_FILE.into(),
                mime_type: MimeType::new("application/json"),
                description: Some("Quittung des Transparenzprotokolls zu dieser Entscheidung".into()),
                association_kind: AssociationKind::Supplement,
                data: receipt.clone().into(),
                modification_date: Some(created),
                compress: Some(true),
                location: None,
            })
            .ok_or("Quittung nicht eingebettet")?;
    }
    document.set_metadata(
        Metadata::new()
            .title(format!("Bescheid {} – {}", b.case_number, b.service_name))
            .language("de-DE".into())
            .creator("amtsweg".into())
            .authors(vec![b.authority_name.clone()])
            .creation_date(created),
    );
    // The error's kind only: krilla's messages may quote the text (personal data).
    document.finish().map_err(|e| match e {
        krilla::error::KrillaError::Validation(v) => format!("PDF/A-Prüfung: {} Verstöße", v.len()),
        krilla::error::KrillaError::Font(..) => "Schrift nicht einbettbar".to_owned(),
        _ => "PDF nicht erzeugt".to_owned(),
    })
}

fn draw(surface: &mut Surface<'_>, face: &Face, size: f32, x: f32, y: f32, text: &str) {
    surface.draw_glyphs(Point::from_xy(x, y), &face.glyphs(text), face.font.clone(), text, size, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character of a line belongs to exactly one glyph's text (the PDF's text layer), in
    /// both directions, and a line shaped again is the same.
    #[test]
    fn glyphs_cover_the_text_once_in_both_directions() {
        let (regular, _) = faces().unwrap();
        for text in ["Straße 12, 04107 Leipzig – „Bescheid“", "محمد الأحمد", "Ärger mit fi und ffl"] {
            let glyphs = regular.glyphs(text);
            assert!(!glyphs.is_empty());
            let mut covered = vec![0u8; text.len()];
            for g in glyphs.iter() {
                assert!(g.text_range.start < g.text_range.end && g.text_range.end <= text.len(), "{text}: {:?}", g.text_range);
                for b in g.text_range.clone() {
                    covered[b] += 1;
                }
            }
            // Glyphs of one cluster share its range; every byte is in some glyph's range.
            assert!(covered.iter().all(|&c| c >= 1), "{text}: {covered:?}");
            let again = regular.glyphs(text);
            assert_eq!(glyphs.len(), again.len());
        }
    }

    fn sample() -> Bescheid {
        Bescheid {
            authority_name: "Stadt Leipzig".into(),
            authority_address: "Martin-Luther-Ring 4–6, 04109 Leipzig".into(),
            case_number: "L-2026-000001".into(),
            date: "22.11.2026".into(),
            created: time::OffsetDateTime::UNIX_EPOCH,
            recipient: vec!["Anna Schmidt".into(), "Karl-Liebknecht-Straße 12".into(), "04107 Leipzig".into()],
            service_name: "Energiepreispauschale für Studierende".into(),
            verdict: "Ihrem Antrag wird stattgegeben.".into(),
            reason: "Alle Voraussetzungen sind erfüllt. ".repeat(200),
            automated: Some(("§ 2 EPPSG".into(), vec![("Einschreibung".into(), "bestätigt".into())])),
            legal_basis: "EPPSG".into(),
            remedy: "Gegen diesen Bescheid können Sie innerhalb eines Monats Widerspruch erheben.".into(),
            ledger: Some("Eintrag Nr. 7".into()),
            receipt: Some(br#"{"index": 7}"#.to_vec()),
        }
    }

    #[test]
    fn a_long_bescheid_is_a_pdf_a_over_several_pages() {
        let pdf = render(&sample()).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("pdfaid:part"), "declares PDF/A in its XMP metadata");
        assert!(text.contains("pdfuaid:part"), "declares PDF/UA in its XMP metadata");
        assert!(text.contains("/Outlines"), "has an outline");
        assert!(text.contains("/StructTreeRoot"), "is tagged");
        assert!(text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count() + text.matches("/Type/Page/").count() >= 1);
    }

    #[test]
    fn characters_without_a_glyph_do_not_stop_the_bescheid() {
        let mut b = sample();
        b.recipient[0] = "Anna \u{1F600} 山田 \u{E000}\u{FEFF} Schmidt".into();
        b.reason = "Begründung mit \u{0007} Steuerzeichen und 🚗.".into();
        let pdf = render(&b).expect("renders with replacement characters");
        assert!(pdf.starts_with(b"%PDF-"));
    }

    #[test]
    fn lines_break_within_the_width() {
        let face = Face::new(dejavu::sans::regular()).unwrap();
        let lines = face.wrap(&"Wort ".repeat(100), 10.5, 200.0);
        assert!(lines.len() > 5);
        let width = face.measure(10.5);
        assert!(lines.iter().all(|l| width(l) <= 200.0));
    }
}
