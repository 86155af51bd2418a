// Rust names in heap and threads: a generic method, cache::Lru<K, V>::insert_many,
// keeps 1000 allocations of 4096 bytes, then the main thread waits in
// cache::Lru<K, V>::wait_for_input until stdin says "exit".  Built twice, with Rust's
// legacy and v0 symbol manglings (tests/e2e_heap/meson.build).
use std::io::Write;

mod cache {
    use std::io::BufRead;

    pub struct Lru<K, V> {
        items: Vec<(K, V, Box<[u8]>)>,
    }

    impl<K: Copy, V: Copy> Lru<K, V> {
        pub fn new() -> Self {
            Lru { items: Vec::with_capacity(1000) }
        }

        #[inline(never)]
        pub fn insert_many(&mut self, k: K, v: V, n: usize) {
            for i in 0..n {
                let mut block = vec![0u8; 4096].into_boxed_slice();
                block[i % 4096] = 1;
                self.items.push((k, v, block));
            }
        }

        #[inline(never)]
        pub fn wait_for_input(&self) -> usize {
            let stdin = std::io::stdin();
            let mut line = String::new();
            while stdin.lock().read_line(&mut line).unwrap_or(0) > 0 {
                if line.trim() == "exit" {
                    break;
                }
                line.clear();
            }
            self.items.len()
        }
    }
}

fn main() {
    let mut lru: cache::Lru<u32, u64> = cache::Lru::new();
    lru.insert_many(7, 9, 1000);
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    let kept = lru.wait_for_input();
    std::process::exit(if kept == 1000 { 0 } else { 1 });
}
