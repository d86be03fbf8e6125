//! Small valid documents for the tests of the crates that store documents (a PDF of one page
//! with a line of text, with extra catalog and page entries where a test needs them).

/// A valid one-page PDF showing `text`.
pub fn pdf(text: &str) -> Vec<u8> {
    pdf_with(text, "", "")
}

/// A valid one-page PDF with `catalog` and `page` added to those dictionaries.
pub fn pdf_with(text: &str, catalog: &str, page: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 770 Td ({}) Tj ET", text.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)"));
    let objects = [
        format!("<< /Type /Catalog /Pages 2 0 R {catalog} >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> {page} >>"),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        "<< /Length 0 >>\nstream\n\nendstream".to_owned(),
        // Object 7: a string of seven characters that tests may swap for a name of seven.
        "(frei00)".to_owned(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

/// A valid PNG of `width` × `height` colourful pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(picture).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("encoding in memory");
    out
}

/// A valid PNG of `width` × `height` black pixels (one bit each), written row by row: a picture
/// of 20,000 × 20,000 pixels is a file of about 50 KB.
pub fn black_png(width: u32, height: u32) -> Vec<u8> {
    // The stream writer wants a writer of its own: a buffer shared with this function.
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let file = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut encoder = png::Encoder::new(Shared(file.clone()), width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().expect("a PNG header").into_stream_writer().expect("a PNG stream");
    let row = vec![0u8; width.div_ceil(8) as usize];
    for _ in 0..height {
        std::io::Write::write_all(&mut writer, &row).expect("writing in memory");
    }
    writer.finish().expect("the PNG's end");
    file.take()
}

/// A JPEG photo with an EXIF segment: orientation 6 (turn 90° clockwise) and a GPS marker
/// (`GPSLatitude 51.34`), as phones write them. The left half is red, the right half black.
pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    use image::DynamicImage;
    let picture = image::RgbImage::from_fn(width, height, |x, _| image::Rgb([if x < width / 2 { 255 } else { 0 }, 0, 0]));
    let mut plain = Vec::new();
    DynamicImage::ImageRgb8(picture).write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 95)).expect("encoding in memory");
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend([0, 1]); // one entry
    tiff.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // Orientation = 6
    tiff.extend([0, 0, 0, 0]);
    tiff.extend(b"GPSLatitude 51.34");
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend(tiff);
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((exif.len() + 2) as u16).to_be_bytes());
    out.extend(exif);
    out.extend(&plain[2..]);
    out
}
