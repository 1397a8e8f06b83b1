"""The Win32 side of `drivers.rawinput` (ctypes only): the keyboards Raw Input sees, and a
message-only window on its own thread that receives `WM_INPUT` and `WM_INPUT_DEVICE_CHANGE`.

Everything here is defined on Windows only (under one platform check, so that the module still
imports elsewhere, and mypy checks it with `--platform win32`). What the window receives is
handed as plain values (the `RAWINPUT` bytes; the change and the handle) to
`drivers.rawinput.RawInputHub`, where it is parsed and dispatched.

Microsoft docs followed: "Using Raw Input", `RegisterRawInputDevices`, `RAWINPUTDEVICE`
(`RIDEV_INPUTSINK` needs `hwndTarget`; `RIDEV_REMOVE` needs it NULL), `GetRawInputData`,
`GetRawInputDeviceList`, `GetRawInputDeviceInfoW` (`RIDI_DEVICENAME`: the size in characters),
`WM_INPUT` (the application must call `DefWindowProc` after it), `WM_INPUT_DEVICE_CHANGE`,
"Message-Only Windows" (`HWND_MESSAGE`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from drivers.errors import DeviceError, DeviceLost

if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    LRESULT = wintypes.LPARAM
    WNDPROC = ctypes.WINFUNCTYPE(
        LRESULT, wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM
    )

    class WNDCLASSEXW(ctypes.Structure):
        _fields_ = [
            ("cbSize", wintypes.UINT),
            ("style", wintypes.UINT),
            ("lpfnWndProc", WNDPROC),
            ("cbClsExtra", ctypes.c_int),
            ("cbWndExtra", ctypes.c_int),
            ("hInstance", wintypes.HINSTANCE),
            ("hIcon", wintypes.HICON),
            ("hCursor", wintypes.HANDLE),
            ("hbrBackground", wintypes.HBRUSH),
            ("lpszMenuName", wintypes.LPCWSTR),
            ("lpszClassName", wintypes.LPCWSTR),
            ("hIconSm", wintypes.HICON),
        ]

    class RAWINPUTDEVICE(ctypes.Structure):
        _fields_ = [
            ("usUsagePage", wintypes.USHORT),
            ("usUsage", wintypes.USHORT),
            ("dwFlags", wintypes.DWORD),
            ("hwndTarget", wintypes.HWND),
        ]

    class RAWINPUTDEVICELIST(ctypes.Structure):
        _fields_ = [("hDevice", wintypes.HANDLE), ("dwType", wintypes.DWORD)]

    class RAWINPUTHEADER(ctypes.Structure):
        _fields_ = [
            ("dwType", wintypes.DWORD),
            ("dwSize", wintypes.DWORD),
            ("hDevice", wintypes.HANDLE),
            ("wParam", wintypes.WPARAM),
        ]

    _user32 = ctypes.WinDLL("user32", use_last_error=True)
    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

    _UINT_P = ctypes.POINTER(wintypes.UINT)
    GetModuleHandleW = _kernel32.GetModuleHandleW
    GetModuleHandleW.restype = wintypes.HMODULE
    GetModuleHandleW.argtypes = (wintypes.LPCWSTR,)
    RegisterClassExW = _user32.RegisterClassExW
    RegisterClassExW.restype = wintypes.ATOM
    RegisterClassExW.argtypes = (ctypes.POINTER(WNDCLASSEXW),)
    UnregisterClassW = _user32.UnregisterClassW
    UnregisterClassW.restype = wintypes.BOOL
    UnregisterClassW.argtypes = (wintypes.LPCWSTR, wintypes.HINSTANCE)
    CreateWindowExW = _user32.CreateWindowExW
    CreateWindowExW.restype = wintypes.HWND
    CreateWindowExW.argtypes = (
        wintypes.DWORD,  # dwExStyle
        wintypes.LPCWSTR,  # lpClassName
        wintypes.LPCWSTR,  # lpWindowName
        wintypes.DWORD,  # dwStyle
        ctypes.c_int,  # X
        ctypes.c_int,  # Y
        ctypes.c_int,  # nWidth
        ctypes.c_int,  # nHeight
        wintypes.HWND,  # hWndParent
        wintypes.HMENU,  # hMenu
        wintypes.HINSTANCE,  # hInstance
        wintypes.LPVOID,  # lpParam
    )
    DestroyWindow = _user32.DestroyWindow
    DestroyWindow.restype = wintypes.BOOL
    DestroyWindow.argtypes = (wintypes.HWND,)
    DefWindowProcW = _user32.DefWindowProcW
    DefWindowProcW.restype = LRESULT
    DefWindowProcW.argtypes = (wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)
    GetMessageW = _user32.GetMessageW
    GetMessageW.restype = wintypes.BOOL
    GetMessageW.argtypes = (
        ctypes.POINTER(wintypes.MSG),
        wintypes.HWND,
        wintypes.UINT,
        wintypes.UINT,
    )
    DispatchMessageW = _user32.DispatchMessageW
    DispatchMessageW.restype = LRESULT
    DispatchMessageW.argtypes = (ctypes.POINTER(wintypes.MSG),)
    PostMessageW = _user32.PostMessageW
    PostMessageW.restype = wintypes.BOOL
    PostMessageW.argtypes = (wintypes.HWND, wintypes.UINT, wintypes.WPARAM, wintypes.LPARAM)
    PostQuitMessage = _user32.PostQuitMessage
    PostQuitMessage.restype = None
    PostQuitMessage.argtypes = (ctypes.c_int,)
    RegisterRawInputDevices = _user32.RegisterRawInputDevices
    RegisterRawInputDevices.restype = wintypes.BOOL
    RegisterRawInputDevices.argtypes = (
        ctypes.POINTER(RAWINPUTDEVICE),
        wintypes.UINT,
        wintypes.UINT,
    )
    GetRawInputData = _user32.GetRawInputData
    GetRawInputData.restype = wintypes.UINT
    GetRawInputData.argtypes = (
        wintypes.HANDLE,  # HRAWINPUT
        wintypes.UINT,
        wintypes.LPVOID,
        _UINT_P,
        wintypes.UINT,
    )
    GetRawInputDeviceList = _user32.GetRawInputDeviceList
    GetRawInputDeviceList.restype = wintypes.UINT
    GetRawInputDeviceList.argtypes = (ctypes.POINTER(RAWINPUTDEVICELIST), _UINT_P, wintypes.UINT)
    GetRawInputDeviceInfoW = _user32.GetRawInputDeviceInfoW
    GetRawInputDeviceInfoW.restype = wintypes.UINT
    GetRawInputDeviceInfoW.argtypes = (wintypes.HANDLE, wintypes.UINT, wintypes.LPVOID, _UINT_P)

    WM_DESTROY, WM_CLOSE = 0x0002, 0x0010
    WM_INPUT_DEVICE_CHANGE, WM_INPUT = 0x00FE, 0x00FF
    HWND_MESSAGE = -3
    RIDEV_REMOVE, RIDEV_INPUTSINK, RIDEV_DEVNOTIFY = 0x00000001, 0x00000100, 0x00002000
    RID_INPUT = 0x10000003
    RIDI_DEVICENAME = 0x20000007
    RIM_TYPEKEYBOARD = 1
    ERROR_INSUFFICIENT_BUFFER = 122
    FAILED = 0xFFFFFFFF  # (UINT)-1
    GENERIC_DESKTOP, KEYBOARD = 0x01, 0x06
    _HANDLE_MASK = (1 << (8 * ctypes.sizeof(ctypes.c_void_p))) - 1

    def _handle(value: int | None) -> int:
        """A handle as an unsigned int, whatever signed type (LPARAM) carried it."""
        return (value or 0) & _HANDLE_MASK

    def _winerror(what: str) -> OSError:
        return ctypes.WinError(ctypes.get_last_error(), what)

    def keyboards() -> list[tuple[int, str]]:
        """`(handle, device name)` of every keyboard Raw Input sees."""
        size = ctypes.sizeof(RAWINPUTDEVICELIST)
        count = wintypes.UINT(0)
        for _ in range(5):  # a device plugged in between the two calls: ask again
            if GetRawInputDeviceList(None, ctypes.byref(count), size) == FAILED:
                raise _winerror("GetRawInputDeviceList")
            devices = (RAWINPUTDEVICELIST * max(1, count.value))()
            got = GetRawInputDeviceList(devices, ctypes.byref(count), size)
            if got != FAILED:
                break
            if ctypes.get_last_error() != ERROR_INSUFFICIENT_BUFFER:
                raise _winerror("GetRawInputDeviceList")
        else:
            raise OSError("GetRawInputDeviceList: the device list keeps changing")
        out = []
        for device in devices[:got]:
            if device.dwType != RIM_TYPEKEYBOARD:
                continue
            handle = _handle(device.hDevice)
            name = device_name(handle)
            if name is not None:
                out.append((handle, name))
        return out

    def device_name(handle: int) -> str | None:
        """`RIDI_DEVICENAME` of a Raw Input device; None when it is gone."""
        chars = wintypes.UINT(0)
        if GetRawInputDeviceInfoW(handle, RIDI_DEVICENAME, None, ctypes.byref(chars)) == FAILED:
            return None
        buffer = ctypes.create_unicode_buffer(chars.value + 1)
        chars.value += 1
        got = GetRawInputDeviceInfoW(handle, RIDI_DEVICENAME, buffer, ctypes.byref(chars))
        if got == FAILED:
            return None
        return buffer.value

    def _rawinput_bytes(lparam: int) -> bytes | None:
        """The `RAWINPUT` a `WM_INPUT` names, as bytes."""
        size = wintypes.UINT(0)
        header = ctypes.sizeof(RAWINPUTHEADER)
        handle = _handle(lparam)
        if GetRawInputData(handle, RID_INPUT, None, ctypes.byref(size), header) == FAILED:
            return None
        buffer = (ctypes.c_uint64 * ((size.value + 7) // 8))()  # aligned as RAWINPUT is
        got = GetRawInputData(handle, RID_INPUT, buffer, ctypes.byref(size), header)
        if got == FAILED:
            return None
        return ctypes.string_at(buffer, got)

    def _register(flags: int, target: int | None) -> bool:
        device = RAWINPUTDEVICE(GENERIC_DESKTOP, KEYBOARD, flags, target)
        return bool(RegisterRawInputDevices(ctypes.byref(device), 1, ctypes.sizeof(device)))

    class MessageWindow:
        """A message-only window registered for every keyboard's Raw Input, on its thread.

        `start` returns once the window exists and is registered (DeviceError otherwise);
        `stop` closes it (`WM_CLOSE`: unregister, destroy, quit) and joins the thread. The
        callbacks run on the window's thread.
        """

        def __init__(self) -> None:
            self._thread: threading.Thread | None = None
            self._ready = threading.Event()
            self._error: DeviceError | None = None
            self._hwnd: int | None = None
            self._stopping = False
            self._on_input: Callable[[bytes], None] = lambda buffer: None
            self._on_change: Callable[[int, int], None] = lambda kind, handle: None
            self._on_stopped: Callable[[DeviceError], None] = lambda error: None
            self._wndproc = WNDPROC(self._window_procedure)  # kept alive with the window
            self._class_name = f"scanner-agent-rawinput-{id(self):x}"

        def start(
            self,
            on_input: Callable[[bytes], None],
            on_device_change: Callable[[int, int], None],
            on_stopped: Callable[[DeviceError], None],
        ) -> None:
            self._on_input, self._on_change, self._on_stopped = (
                on_input,
                on_device_change,
                on_stopped,
            )
            self._thread = threading.Thread(target=self._run, name="rawinput", daemon=True)
            self._thread.start()
            if not self._ready.wait(10.0):
                self._error = DeviceError("Raw Input: the message window did not start")
            if self._error is not None:
                self.stop()
                raise self._error

        def stop(self) -> None:
            self._stopping = True
            hwnd = self._hwnd
            if hwnd is not None:
                PostMessageW(hwnd, WM_CLOSE, 0, 0)
            thread, self._thread = self._thread, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(5.0)

        def _run(self) -> None:
            instance = GetModuleHandleW(None)
            window_class = WNDCLASSEXW()
            window_class.cbSize = ctypes.sizeof(WNDCLASSEXW)
            window_class.lpfnWndProc = self._wndproc
            window_class.hInstance = instance
            window_class.lpszClassName = self._class_name
            if not RegisterClassExW(ctypes.byref(window_class)):
                self._error = DeviceError(f"Raw Input: {_winerror('RegisterClassExW')}")
                self._ready.set()
                return
            failure: DeviceError | None = None
            try:
                hwnd = CreateWindowExW(
                    0, self._class_name, "scanner-agent", 0, 0, 0, 0, 0,
                    HWND_MESSAGE, None, instance, None,
                )  # fmt: skip
                if not hwnd:
                    self._error = DeviceError(f"Raw Input: {_winerror('CreateWindowExW')}")
                    return
                self._hwnd = hwnd
                if not _register(RIDEV_INPUTSINK | RIDEV_DEVNOTIFY, hwnd):
                    self._error = DeviceError(f"Raw Input: {_winerror('RegisterRawInputDevices')}")
                    DestroyWindow(hwnd)
                    return
                self._ready.set()
                message = wintypes.MSG()
                while True:
                    got = GetMessageW(ctypes.byref(message), None, 0, 0)
                    if got == 0:  # WM_QUIT
                        break
                    if got == -1:
                        failure = DeviceLost(f"Raw Input: {_winerror('GetMessageW')}")
                        _register(RIDEV_REMOVE, None)
                        DestroyWindow(hwnd)
                        break
                    DispatchMessageW(ctypes.byref(message))
            finally:
                self._hwnd = None
                UnregisterClassW(self._class_name, instance)
                self._ready.set()
            if failure is not None and not self._stopping:
                self._on_stopped(failure)

        def _window_procedure(self, hwnd: int, message: int, wparam: int, lparam: int) -> int:
            try:
                if message == WM_INPUT:
                    buffer = _rawinput_bytes(lparam)
                    if buffer is not None:
                        self._on_input(buffer)
                    # "the application must call DefWindowProc so the system can clean up"
                elif message == WM_INPUT_DEVICE_CHANGE:
                    self._on_change(int(wparam), _handle(lparam))
                    return 0
                elif message == WM_CLOSE:
                    _register(RIDEV_REMOVE, None)
                    DestroyWindow(hwnd)
                    return 0
                elif message == WM_DESTROY:
                    PostQuitMessage(0)
                    return 0
            except Exception as exc:  # never let one escape into user32
                self._on_stopped(DeviceLost(f"Raw Input: {type(exc).__name__}: {exc}"))
            return int(DefWindowProcW(hwnd, message, wparam, lparam))
