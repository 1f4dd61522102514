//! Times the Rust reader alone, without Python: `batches::read_frame` of a file into the lossless
//! frame, as `read_marc` builds it, on each thread count asked for, the counts interleaved and
//! repeated; prints the median and fastest of each. BENCHMARKS.md quotes it against `read_marc`,
//! to tell what the binding adds.
//!
//! cargo run --release --example read_frame -- FILE [--threads 1,2] [--repeat 7] [--chunk-size BYTES]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use marc_polars::batches::read_frame;
use marc_polars::columns::Projection;
use marc_polars::executor::ReadOptions;
use marc_polars::source::Source;

struct Args {
    file: PathBuf,
    threads: Vec<usize>,
    repeat: usize,
    chunk_size: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args { file: PathBuf::new(), threads: vec![1, 2], repeat: 7, chunk_size: 1 << 20 };
    let number = |value: Option<String>, what: &str| -> Result<usize, String> {
        value.and_then(|v| v.parse().ok()).filter(|&n| n > 0).ok_or_else(|| format!("{what} takes a positive number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                let list = args.next().ok_or("--threads takes a list such as 1,2")?;
                parsed.threads = list.split(',').map(|n| number(Some(n.to_string()), "--threads")).collect::<Result<_, _>>()?;
            }
            "--repeat" => parsed.repeat = number(args.next(), "--repeat")?,
            "--chunk-size" => parsed.chunk_size = number(args.next(), "--chunk-size")?,
            _ if parsed.file.as_os_str().is_empty() && !arg.starts_with("--") => parsed.file = arg.into(),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if parsed.file.as_os_str().is_empty() {
        return Err("usage: read_frame FILE [--threads 1,2] [--repeat 7] [--chunk-size BYTES]".into());
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let megabytes = std::fs::metadata(&args.file).map_or(0.0, |m| m.len() as f64 / 1e6);
    let projection = Arc::new(Projection::lossless());
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); args.threads.len()];
    let mut rows = 0;
    for _ in 0..args.repeat {
        for (i, &threads) in args.threads.iter().enumerate() {
            let options = ReadOptions { threads, chunk_size: args.chunk_size, ..Default::default() };
            let started = Instant::now();
            let frame = match read_frame(vec![Source::Path(args.file.clone())], &options, &projection) {
                Ok(frame) => frame,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::FAILURE;
                }
            };
            times[i].push(started.elapsed().as_secs_f64());
            rows = frame.height();
            // Freed outside the clock, as the Python benchmarks free what a case read.
            drop(frame);
        }
    }
    println!("{} records, {megabytes:.1} MB, {} rounds", rows, args.repeat);
    println!("threads | median (s) | fastest (s) | MB/s (median)");
    for (threads, mut runs) in args.threads.iter().zip(times) {
        runs.sort_by(f64::total_cmp);
        let median = runs[runs.len() / 2];
        println!("{threads} | {median:.3} | {:.3} | {:.1}", runs[0], megabytes / median);
    }
    ExitCode::SUCCESS
}
