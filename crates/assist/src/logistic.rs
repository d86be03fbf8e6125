//! L2-regularised logistic regression, fitted by Newton's method (iteratively reweighted least
//! squares) on standardised features. Written here rather than taken from `linfa-logistic`
//! because the models are tiny (a few dozen features, a few thousand rows), a fit must be
//! deterministic and reproducible from the parameter file alone, and the crate would bring
//! `ndarray` and `argmin` for what is a hundred lines (see `docs/decisions.md`).

use serde::{Deserialize, Serialize};

/// A fitted model: `p = σ(bias + Σ wᵢ·(xᵢ − meanᵢ)/scaleᵢ)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub weights: Vec<f64>,
    pub bias: f64,
}

impl Logistic {
    /// Fits the rows `x` (all of the same length) to the labels `y`; `l2` is the penalty on the
    /// weights of the standardised features (not on the bias). Features that never vary get
    /// weight 0. `None` when Newton's method does not converge (a singular system, or no
    /// convergence in 50 steps): no model rather than a half-fitted one.
    pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> Option<Self> {
        let k = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mut mean = vec![0.0; k];
        for row in x {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n;
            }
        }
        let mut scale = vec![0.0; k];
        for row in x {
            for ((s, v), m) in scale.iter_mut().zip(row).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        for s in &mut scale {
            *s = if *s > 1e-12 { s.sqrt() } else { 0.0 };
        }
        let z: Vec<Vec<f64>> = x.iter().map(|row| standardise(row, &mean, &scale)).collect();
        // Parameters: weights 0..k, bias at k.
        let mut beta = vec![0.0; k + 1];
        let mut converged = false;
        for _ in 0..50 {
            let mut gradient = vec![0.0; k + 1];
            let mut hessian = vec![vec![0.0; k + 1]; k + 1];
            for (row, &label) in z.iter().zip(y) {
                let p = sigmoid(dot(&beta[..k], row) + beta[k]);
                let residual = p - f64::from(u8::from(label));
                let w = (p * (1.0 - p)).max(1e-9);
                for i in 0..=k {
                    let xi = if i == k { 1.0 } else { row[i] };
                    gradient[i] += residual * xi;
                    for j in 0..=i {
                        let xj = if j == k { 1.0 } else { row[j] };
                        hessian[i][j] += w * xi * xj;
                    }
                }
            }
            for i in 0..k {
                gradient[i] += l2 * beta[i];
                hessian[i][i] += l2;
            }
            for i in 0..=k {
                for j in 0..i {
                    hessian[j][i] = hessian[i][j];
                }
            }
            for i in (0..k).filter(|&i| scale[i] == 0.0) {
                // A constant feature: its weight stays 0.
                for row in hessian.iter_mut() {
                    row[i] = 0.0;
                }
                hessian[i] = vec![0.0; k + 1];
                hessian[i][i] = 1.0;
                gradient[i] = 0.0;
            }
            let step = solve(hessian, gradient)?;
            let change = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
            for (b, s) in beta.iter_mut().zip(&step) {
                *b -= s;
            }
            if !change.is_finite() {
                return None;
            }
            if change < 1e-8 {
                converged = true;
                break;
            }
        }
        if !converged {
            return None;
        }
        let bias = beta.pop().unwrap_or(0.0);
        Some(Self { mean, scale, weights: beta, bias })
    }

    /// The probability of the positive label for one row.
    pub fn probability(&self, row: &[f64]) -> f64 {
        sigmoid(dot(&self.weights, &standardise(row, &self.mean, &self.scale)) + self.bias)
    }

    /// Whether the parameters fit `features` inputs and are all finite.
    pub fn is_valid(&self, features: usize) -> bool {
        self.mean.len() == features
            && self.scale.len() == features
            && self.weights.len() == features
            && self.mean.iter().chain(&self.scale).chain(&self.weights).chain(std::iter::once(&self.bias)).all(|v| v.is_finite())
    }
}

fn standardise(row: &[f64], mean: &[f64], scale: &[f64]) -> Vec<f64> {
    row.iter().zip(mean).zip(scale).map(|((v, m), s)| if *s > 0.0 { (v - m) / s } else { 0.0 }).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting; `None` if singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            if factor != 0.0 {
                for c in col..n {
                    a[row][c] -= factor * a[col][c];
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_what_one_feature_separates_and_ignores_a_constant_one() {
        // Label = x0 > 0.5 (with some overlap), x1 constant, x2 noise.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..200 {
            let v = f64::from(i) / 200.0;
            x.push(vec![v, 3.0, f64::from((i * 7919) % 13)]);
            y.push(v > 0.5 || i % 50 == 0);
        }
        let model = Logistic::fit(&x, &y, 1.0).expect("converges");
        assert!(model.is_valid(3));
        assert_eq!(model.weights[1], 0.0, "a constant feature gets no weight");
        assert!(model.weights[0] > 2.0, "{model:?}");
        assert!(model.weights[2].abs() < model.weights[0].abs() / 4.0, "{model:?}");
        assert!(model.probability(&[0.9, 3.0, 5.0]) > 0.9);
        assert!(model.probability(&[0.1, 3.0, 5.0]) < 0.1);
        // The same data gives the same model.
        assert_eq!(Some(model), Logistic::fit(&x, &y, 1.0));
    }

    #[test]
    fn separable_data_without_a_penalty_is_no_model() {
        // Perfectly separable: the weights grow without bound, Newton's method never settles.
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![f64::from(i)]).collect();
        let y: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        assert!(Logistic::fit(&x, &y, 0.0).is_none());
        assert!(Logistic::fit(&x, &y, 1.0).is_some(), "the penalty keeps the weights finite");
    }

    #[test]
    fn solves_a_small_system() {
        let x = solve(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![3.0, 5.0]).unwrap();
        assert!((x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12, "{x:?}");
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }
}
