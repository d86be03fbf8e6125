//! `amtsweg bench fim`: how long the real FIM schemas take to parse (against a bare pass of the
//! XML reader over the same bytes, in the same run), and how long the largest form page takes to
//! render over HTTP (against a trivial request to the same server).

use crate::bench::{measure, ms};
use amtsweg_store::{DynStore, SqliteStore};
use amtsweg_web::{AppState, WebConfig};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct FimBenchArgs {
    /// Folder of the FIM fixtures.
    #[arg(long, default_value = "../shared/fixtures/fim")]
    fixtures: PathBuf,
    /// Repetitions per figure.
    #[arg(long, default_value_t = 200)]
    repetitions: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub(crate) fn bare_pass(xml: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut events = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) | Err(_) => return events,
            Ok(_) => events += 1,
        }
    }
}

pub async fn run(args: FimBenchArgs) -> Result<(), String> {
    println!("FIM schemas, {} repetitions, medians:\n", args.repetitions);
    println!("| schema | size KiB | parse ms | bare XML pass ms | ratio | to form ms |");
    println!("|---|---|---|---|---|---|");
    for (file, _, _, _) in amtsweg_demo::FIM_SERVICES {
        let path = args.fixtures.join(file);
        let xml = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let lists = amtsweg_app::catalog::load_code_lists(path.parent().unwrap_or(&args.fixtures))?;
        let (mut parse, mut bare, mut convert) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..args.repetitions {
            let t = Instant::now();
            let message = amtsweg_fim::parse(&xml).map_err(|e| e.to_string())?;
            parse.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(bare_pass(&xml));
            bare.push(t.elapsed());
            let t = Instant::now();
            let options = amtsweg_fim::form::Options { code_lists: &lists, rules: None, accept_free_text: &[] };
            let _ = std::hint::black_box(amtsweg_fim::form::to_form(&message.schema, &options));
            convert.push(t.elapsed());
        }
        let (p, b, c) = (median(parse), median(bare), median(convert));
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {:.2} |",
            path.file_name().unwrap_or_default().to_string_lossy(),
            xml.len() as f64 / 1024.0,
            ms(p),
            ms(b),
            p.as_secs_f64() / b.as_secs_f64(),
            ms(c)
        );
    }

    // The largest page of the demo's FIM forms, over HTTP.
    let dir = std::env::temp_dir().join(format!("amtsweg-bench-fim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let store = SqliteStore::connect(&format!("sqlite:{}", dir.join("b.db").display())).await.map_err(|e| e.to_string())?;
    let store: DynStore = Arc::new(store);
    store.migrate().await.map_err(|e| e.to_string())?;
    amtsweg_demo::seed(&store).await.map_err(|e| e.to_string())?;
    amtsweg_demo::seed_fim(&store, &args.fixtures).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let state = AppState::new(amtsweg_app::Platform::ephemeral(store), WebConfig { demo: true, secure_cookies: false, kern_dir: "/nonexistent".into() });
    tokio::spawn(amtsweg_web::Application::on(state, listener).run_until_stopped(std::future::pending()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
    let form = client.get(format!("{base}/anmelden")).send().await.map_err(|e| e.to_string())?;
    let form_cookie = form
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("kein Formular-Cookie")?
        .to_owned();
    let form_token = form_cookie.split_once('=').map(|(_, v)| v.to_owned()).unwrap_or_default();
    let login = client
        .post(format!("{base}/anmelden"))
        .header("cookie", &form_cookie)
        .form(&[("persona", "buerger-1"), ("_csrf", form_token.as_str())])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("keine Sitzung")?
        .to_owned();
    let home = client.get(format!("{base}/leistungen/s00000186")).header("cookie", &cookie).send().await.map_err(|e| e.to_string())?;
    let html = home.text().await.map_err(|e| e.to_string())?;
    let csrf = html.split("name=\"_csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).ok_or("kein CSRF-Token")?.to_owned();
    let started = client
        .post(format!("{base}/leistungen/s00000186/antrag"))
        .header("cookie", &cookie)
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let form = started.headers().get("location").and_then(|v| v.to_str().ok()).ok_or("kein Formular")?.to_owned();
    let mut largest = (String::new(), 0usize, 0usize);
    for n in 1..=40 {
        let url = format!("{base}{form}/{n}");
        let r = client.get(&url).header("cookie", &cookie).send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            break;
        }
        let body = r.text().await.map_err(|e| e.to_string())?;
        let inputs = body.matches("<input").count() + body.matches("<select").count() + body.matches("<textarea").count();
        if inputs > largest.1 {
            largest = (url, inputs, body.len());
        }
    }
    let (url, inputs, bytes) = largest;
    let (c1, u1, k1) = (client.clone(), url.clone(), cookie.clone());
    let page = measure(args.repetitions, 1, move |_| {
        let (c, u, k) = (c1.clone(), u1.clone(), k1.clone());
        async move { c.get(u).header("cookie", k).send().await.and_then(|r| r.error_for_status()).map(|_| ()).map_err(|e| e.to_string()) }
    })
    .await?;
    let (c2, h) = (client.clone(), format!("{base}/healthz"));
    let trivial = measure(args.repetitions, 1, move |_| {
        let (c, u) = (c2.clone(), h.clone());
        async move { c.get(u).send().await.map(|_| ()).map_err(|e| e.to_string()) }
    })
    .await?;
    println!("\nLargest form page ({inputs} inputs, {:.0} KiB of HTML), one client, {} requests:\n", bytes as f64 / 1024.0, args.repetitions);
    println!("| request | p50 ms | p99 ms |");
    println!("|---|---|---|");
    println!("| largest Asbest page (session, draft, render) | {:.2} | {:.2} |", ms(page.p50), ms(page.p99));
    println!("| GET /healthz (baseline) | {:.2} | {:.2} |", ms(trivial.p50), ms(trivial.p99));
    println!("| ratio p50 | {:.1} | |", page.p50.as_secs_f64() / trivial.p50.as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
