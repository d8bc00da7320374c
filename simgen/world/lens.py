"""Camera lens models in OpenCV's own parameterisation: pinhole, Brown–Conrady (``opencv``) and equidistant
fisheye (``fisheye``), as tested numpy converters (no Blender).

Camera frame: OpenCV (x right, y down, z forward). Pixels: the centre of the top-left pixel is (0, 0).

``pinhole``  u = fx·x/z + cx, v = fy·y/z + cy;  D = ().
``opencv``   x' = x/z, y' = y/z, r² = x'² + y'²,
             x'' = x'(1 + k1 r² + k2 r⁴ + k3 r⁶) + 2 p1 x'y' + p2 (r² + 2x'²),
             y'' = y'(1 + k1 r² + k2 r⁴ + k3 r⁶) + p1 (r² + 2y'²) + 2 p2 x'y',
             u = fx x'' + cx, v = fy y'' + cy;  D = (k1, k2, p1, p2, k3) — ``cv2.projectPoints``.
``fisheye``  θ = atan2(√(x² + y²), z) (the angle off the optical axis, valid beyond 90°),
             θd = θ (1 + k1 θ² + k2 θ⁴ + k3 θ⁶ + k4 θ⁸), u = fx θd x/√(x²+y²) + cx, v = fy θd y/√(x²+y²) + cy;
             D = (k1, k2, k3, k4) — ``cv2.fisheye.projectPoints`` for θ < 90°. Rays more than ``fov_deg``/2 off
             the axis are outside the lens (rendered black, no labels).

Depth: ``pinhole`` and ``opencv`` store planar depth (camera z, metres); ``fisheye`` stores the range along the
pixel's ray (metres), because planar depth turns negative past 90°.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

MODELS = ("pinhole", "opencv", "fisheye")
N_COEFFS = {"pinhole": 0, "opencv": 5, "fisheye": 4}


@dataclass(frozen=True, eq=False)
class Lens:
    """Intrinsics of one camera.

    model: ``pinhole`` | ``opencv`` | ``fisheye``. width, height: image size (pixels). K: (3, 3) float64
    (fx, fy, cx, cy; no skew). D: distortion coefficients in OpenCV's order (empty for pinhole, 5 for opencv,
    4 for fisheye). fov_deg: fisheye only, full field of view of the lens circle (deg, up to 360); rays beyond
    fov_deg/2 off-axis are not imaged. Immutable; compares by identity; caches its pixel rays.
    """

    model: str
    width: int
    height: int
    K: np.ndarray
    D: tuple = ()
    fov_deg: float | None = None
    _cache: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"camera model must be one of {MODELS}, got {self.model!r}")
        object.__setattr__(self, "K", np.asarray(self.K, np.float64).reshape(3, 3))
        object.__setattr__(self, "D", tuple(float(d) for d in self.D))
        if len(self.D) != N_COEFFS[self.model]:
            raise ValueError(f"{self.model} needs {N_COEFFS[self.model]} distortion coefficients, got {len(self.D)}")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")
        if self.model == "fisheye":
            fov = 180.0 if self.fov_deg is None else float(self.fov_deg)
            if not 0 < fov <= 360:
                raise ValueError(f"fisheye fov_deg must be in (0, 360], got {fov}")
            object.__setattr__(self, "fov_deg", fov)
            th = np.linspace(0, math.radians(fov / 2), 2000)
            if np.any(np.diff(self._theta_d(th)) <= 0):
                raise ValueError(f"fisheye distortion {self.D} is not monotonic up to {fov / 2}° off-axis")
        elif self.model == "opencv":
            r = self._max_undistorted_radius()
            rr = np.linspace(0, r, 2000)
            k1, k2, _, _, k3 = self.D
            if np.any(np.diff(rr * (1 + k1 * rr**2 + k2 * rr**4 + k3 * rr**6)) <= 0):
                raise ValueError(f"opencv distortion {self.D} folds over inside the image (radial part not "
                                 f"monotonic up to r = {r:.3f})")

    # ---- basic properties ---------------------------------------------------------------------------------
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def native_perspective(self) -> bool:
        """True when a plain perspective camera (square pixels, principal point shifted) renders this lens."""
        return self.model == "pinhole" and self.fx == self.fy

    @property
    def depth_kind(self) -> str:
        """``planar`` (camera z) or ``range`` (distance along the ray), the meaning of stored depth."""
        return "range" if self.model == "fisheye" else "planar"

    def record(self) -> dict:
        """JSON-ready: camera_model, width, height, K, D (and fov_deg for fisheye), depth kind."""
        out = {"camera_model": self.model, "width": int(self.width), "height": int(self.height),
               "K": self.K.tolist(), "D": list(self.D), "depth": self.depth_kind}
        if self.model == "fisheye":
            out["fov_deg"] = float(self.fov_deg)
        return out

    # ---- forward model ------------------------------------------------------------------------------------
    def _theta_d(self, th: np.ndarray) -> np.ndarray:
        k1, k2, k3, k4 = self.D
        t2 = th * th
        return th * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))

    def _distort(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k1, k2, p1, p2, k3 = self.D
        r2 = x * x + y * y
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        return (x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
                y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y)

    def _max_undistorted_radius(self) -> float:
        """Normalised undistorted radius of the farthest image corner (radial part only), times 1.05."""
        c = np.array([[-0.5, -0.5], [self.width - 0.5, -0.5], [-0.5, self.height - 0.5],
                      [self.width - 0.5, self.height - 0.5]])
        rd = np.hypot((c[:, 0] - self.cx) / self.fx, (c[:, 1] - self.cy) / self.fy).max()
        k1, k2, _, _, k3 = self.D
        r = rd
        for _ in range(100):
            f = r * (1 + k1 * r**2 + k2 * r**4 + k3 * r**6) - rd
            df = 1 + 3 * k1 * r**2 + 5 * k2 * r**4 + 7 * k3 * r**6
            if df <= 0:
                break
            r = max(r - f / df, 0.0)
        return 1.05 * float(r)

    def project_camera(self, pc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Project (N, 3) camera-frame points. Returns uv (N, 2) float64 pixels, depth (N,) float64 in the stored
        depth convention (planar z or range), imaged (N,) bool (in front of a pinhole/opencv camera — and
        inside the distortion's monotonic range — or inside the fisheye's field of view)."""
        pc = np.asarray(pc, np.float64).reshape(-1, 3)
        x, y, z = pc[:, 0], pc[:, 1], pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.model == "fisheye":
                rho = np.hypot(x, y)
                th = np.arctan2(rho, z)
                s = np.where(rho > 0, self._theta_d(th) / np.where(rho > 0, rho, 1.0), 0.0)
                xd, yd = x * s, y * s
                depth = np.sqrt(x * x + y * y + z * z)
                ok = th <= math.radians(self.fov_deg / 2) + 1e-12
            else:
                xn, yn = x / z, y / z
                ok = z > 0
                if self.model == "opencv":
                    ok &= np.hypot(xn, yn) <= self._cache.setdefault("rmax", self._max_undistorted_radius())
                    xd, yd = self._distort(xn, yn)
                else:
                    xd, yd = xn, yn
                depth = z
        uv = np.stack([self.fx * xd + self.cx, self.fy * yd + self.cy], -1)
        return uv, depth, ok & np.all(np.isfinite(uv), -1)

    def project(self, points_world: np.ndarray, world_from_camera: np.ndarray):
        """Project (N, 3) world points with a (4, 4) OpenCV camera-to-world pose: see :meth:`project_camera`."""
        pose = np.asarray(world_from_camera, np.float64)
        pts = np.asarray(points_world, np.float64).reshape(-1, 3)
        pc = (pts - pose[:3, 3]) @ pose[:3, :3]
        return self.project_camera(pc)

    # ---- inverse model ------------------------------------------------------------------------------------
    def unproject_pixels(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit ray directions (N, 3) float64 (camera frame) of pixel positions (N, 2), and imaged (N,) bool
        (False outside the fisheye's field of view or where the distortion cannot be inverted)."""
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        xd = (uv[:, 0] - self.cx) / self.fx
        yd = (uv[:, 1] - self.cy) / self.fy
        ok = np.ones(len(uv), bool)
        if self.model == "pinhole":
            d = np.stack([xd, yd, np.ones_like(xd)], -1)
        elif self.model == "opencv":
            x, y = xd.copy(), yd.copy()
            k1, k2, p1, p2, k3 = self.D
            for _ in range(30):  # Newton on distort(x, y) = (xd, yd)
                r2 = x * x + y * y
                radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
                dradial = k1 + r2 * (2 * k2 + 3 * k3 * r2)  # d radial / d r2
                fx_, fy_ = self._distort(x, y)
                ex, ey = fx_ - xd, fy_ - yd
                a = radial + 2 * x * x * dradial + 2 * p1 * y + 6 * p2 * x
                b = 2 * x * y * dradial + 2 * p1 * x + 2 * p2 * y
                c = 2 * x * y * dradial + 2 * p1 * x + 2 * p2 * y
                e = radial + 2 * y * y * dradial + 6 * p1 * y + 2 * p2 * x
                det = a * e - b * c
                x = x - (e * ex - b * ey) / det
                y = y - (a * ey - c * ex) / det
            fx_, fy_ = self._distort(x, y)
            ok &= np.hypot(fx_ - xd, fy_ - yd) < 1e-9
            ok &= np.hypot(x, y) <= self._cache.setdefault("rmax", self._max_undistorted_radius())
            d = np.stack([x, y, np.ones_like(x)], -1)
        else:
            td = np.hypot(xd, yd)
            th = td.copy()
            k1, k2, k3, k4 = self.D
            for _ in range(30):  # Newton on theta_d(theta) = td
                t2 = th * th
                f = self._theta_d(th) - td
                df = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
                th = th - f / df
            ok &= np.abs(self._theta_d(th) - td) < 1e-9
            ok &= th <= math.radians(self.fov_deg / 2)
            s = np.where(td > 0, np.sin(th) / np.where(td > 0, td, 1.0), 1.0)
            d = np.stack([xd * s, yd * s, np.cos(th)], -1)
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        d[~ok] = np.nan
        return d, ok

    def pixel_rays(self) -> np.ndarray:
        """(H, W, 3) float64 unit ray directions of the pixel centres (camera frame); NaN where not imaged."""
        if "rays" not in self._cache:
            v, u = np.mgrid[0:self.height, 0:self.width].astype(np.float64)
            d, _ = self.unproject_pixels(np.stack([u.ravel(), v.ravel()], -1))
            self._cache["rays"] = d.reshape(self.height, self.width, 3)
        return self._cache["rays"]

    def camera_points(self, depth: np.ndarray) -> np.ndarray:
        """(H, W) stored depth (planar or range, metres; inf = none) -> (H, W, 3) float64 camera-frame points."""
        d = self.pixel_rays()
        depth = np.asarray(depth, np.float64)
        if self.depth_kind == "range":
            return d * depth[..., None]
        return d / d[..., 2:3] * depth[..., None]


def pinhole_lens(hfov_rad: float, width: int, height: int, cx_offset: float = 0.0, cy_offset: float = 0.0) -> Lens:
    """Square-pixel pinhole with a horizontal field of view; principal point at the centre plus the offsets
    (pixels)."""
    from simgen.world.conventions import intrinsics_from_hfov

    K = intrinsics_from_hfov(hfov_rad, width, height)
    K[0, 2] += cx_offset
    K[1, 2] += cy_offset
    return Lens("pinhole", width, height, K)


def cv2_project(lens: Lens, points_world: np.ndarray, world_from_camera: np.ndarray) -> np.ndarray:
    """Reference projection with OpenCV's own functions (tests and checks): (N, 3) world points -> (N, 2) uv.

    pinhole / opencv: ``cv2.projectPoints``; fisheye: ``cv2.fisheye.projectPoints`` for points in front of the
    camera; for points at or beyond 90° off-axis the same equidistant formula with θ = atan2(√(x²+y²), z)."""
    import cv2

    pose = np.asarray(world_from_camera, np.float64)
    cam_from_world = np.linalg.inv(pose)
    rvec, _ = cv2.Rodrigues(cam_from_world[:3, :3])
    tvec = cam_from_world[:3, 3]
    pts = np.asarray(points_world, np.float64).reshape(-1, 1, 3)
    D = np.asarray(lens.D, np.float64)
    if lens.model != "fisheye":
        uv, _ = cv2.projectPoints(pts, rvec, tvec, lens.K, D if lens.model == "opencv" else None)
        return uv.reshape(-1, 2)
    uv, _ = cv2.fisheye.projectPoints(pts, rvec.reshape(1, 1, 3), tvec.reshape(1, 1, 3), lens.K, D)
    uv = uv.reshape(-1, 2).astype(np.float64)
    pc = pts.reshape(-1, 3) @ cam_from_world[:3, :3].T + tvec
    back = pc[:, 2] <= 0
    if back.any():
        x, y, z = pc[back].T
        rho = np.hypot(x, y)
        th = np.arctan2(rho, z)
        k1, k2, k3, k4 = lens.D
        td = th * (1 + k1 * th**2 + k2 * th**4 + k3 * th**6 + k4 * th**8)
        uv[back] = np.stack([lens.fx * td * x / rho + lens.cx, lens.fy * td * y / rho + lens.cy], -1)
    return uv
