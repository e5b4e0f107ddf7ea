fn main() {
    println!("mechml");
}
