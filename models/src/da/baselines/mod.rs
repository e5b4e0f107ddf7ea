//! Reference methods every ensemble filter is compared with (as in Sakov & Oke 2008 and
//! DAPPER's benchmarks):
//!
//! * **climatology** ([`Climatology`]): the estimate is the long-run mean of the model, its
//!   uncertainty the long-run covariance `B_c`, estimated from a free run;
//! * **optimal interpolation** ([`StaticGainFilter::optimal_interpolation`]): forecast the
//!   estimate with the model, then the BLUE with the static climatological covariance
//!   (Gandin 1963; Daley 1991, *Atmospheric Data Analysis*, §4):
//!   `x_a = x_f + B Hᵀ(H B Hᵀ + R)^{-1}(y − h(x_f))`, `B = B_c`;
//! * **3D-Var** ([`Var3d`]): the same static prior scaled, `B = s B_c`, and the analysis as
//!   the minimiser of `½‖x − x_f‖²_{B^{-1}} + ½‖y − h(x)‖²_{R^{-1}}` (Lorenc 1986, QJRMS 112),
//!   found by L-BFGS in the control variable `x = x_f + L v`, `B = LLᵀ`; for a linear `h` it
//!   equals the BLUE with `B`;
//! * **extended Kalman filter** ([`ExtendedKf`]): `P_f = ρ M P Mᵀ + Q` with the Jacobian
//!   `M` of the model step from the engine's forward-mode AD, and the Kalman update
//!   linearised at the forecast (Jazwinski 1970, §8.3; Särkkä 2013, Alg. 5.4).

mod climatology;
mod ekf;
mod static_gain;
mod var3d;

pub use climatology::Climatology;
pub use ekf::ExtendedKf;
pub use static_gain::StaticGainFilter;
pub use var3d::Var3d;
