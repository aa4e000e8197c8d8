"""Demo data for Toàn Cảnh: the synthetic commune Xã Đại Thanh (Thành phố Hà Nội) used by `toancanh demo`."""
