//! Kubernetes resource quantities (`500m`, `2`, `512Mi`, `1.5G`, `1e3`), read as Kubernetes reads
//! them, so that a request can be compared with its limit before Kubernetes refuses the pair.

/// The value of a quantity, or why it is not one.
pub fn parse(text: &str) -> Result<f64, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || number.matches('.').count() > 1 {
        return Err(format!("'{text}' is not a quantity: it must start with a number, like 500m, 2 or 512Mi"));
    }
    let value: f64 = number.parse().map_err(|_| format!("'{text}' is not a quantity"))?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            let power: i32 = exponent[1..]
                .parse()
                .map_err(|_| format!("'{text}' is not a quantity: '{exponent}' is not an exponent"))?;
            10f64.powi(power)
        }
        other => {
            return Err(format!(
                "'{text}' is not a quantity: unknown suffix '{other}' (use m, k, M, G, T, Ki, Mi, Gi, Ti...)"
            ));
        }
    };
    Ok(value * multiplier)
}
