use ebmbot::queue::{ListFilter, Options, Queue};
use std::time::Instant;
fn main() {
    let q = Queue::open(std::path::Path::new("/tmp/lb/ebmbot.db"), Options::default()).unwrap();
    for _ in 0..5 {
        let t = Instant::now();
        let jobs = q.list(&ListFilter { all: false, since: jiff::Timestamp::MIN, limit: u32::MAX }).unwrap();
        let t2 = t.elapsed();
        let mut out = std::io::BufWriter::new(std::io::sink());
        serde_json::to_writer(&mut out, &jobs).unwrap();
        eprintln!("list {:?} serialize {:?}", t2, t.elapsed().checked_sub(t2).unwrap());
    }
}
