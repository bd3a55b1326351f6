; Rollbook's NSIS installer, built on Linux with Debian's makensis
; (scripts/windows-build.sh --installer) and tested under Wine (tests/windows/).
;
; Why not Tauri's bundler: on a Linux host it downloads its NSIS plugin
; (nsis_tauri_utils.dll, from GitHub) before it builds anything, and then WebView2's
; offline installer (webviewInstallMode offlineInstaller, from Microsoft); these
; machines have no internet access, so `tauri bundle -b nsis --target
; x86_64-pc-windows-gnu` stops at the first download. The release workflow's Windows
; job builds the shipped installer with Tauri; this one follows the same configuration
; (tauri.conf.json: product name, version, identifier, per-machine install, the
; org.rollbook.desktop scheme, no downgrades) and includes the same hooks
; (installer-hooks.nsh: PATH, data clean-up), so what is tested here is what those
; settings promise. It does not carry WebView2 (it cannot be downloaded here).
;
; Defines (all from scripts/windows-build.sh): PRODUCTNAME, VERSION, IDENTIFIER,
; MAINBINARYNAME, CLI_EXE (rollbook.exe to ship), OUTFILE, FAST_COMPRESSION; WINDOW_EXE and
; WEBVIEW2_LOADER when the window's Windows executable was built (otherwise the
; installer carries the command only, and says so in its details). The window is linked
; for x86_64-pc-windows-gnu here, and MinGW cannot link Microsoft's static WebView2
; loader (an MSVC library), so it imports WebView2Loader.dll, which must sit beside it:
; Tauri's bundler ships it the same way for GNU builds. The release workflow's MSVC
; build links the loader statically and needs no DLL.

Unicode true
Target amd64-unicode
; The test build favours time over size (a 60 MB debug rollbook.exe).
!ifdef FAST_COMPRESSION
  SetCompressor zlib
!else
  SetCompressor /SOLID lzma
!endif
RequestExecutionLevel admin
ManifestDPIAware true

!include MUI2.nsh
!include LogicLib.nsh
!include nsDialogs.nsh
!include x64.nsh
!addincludedir "${__FILEDIR__}"
!include installer-hooks.nsh

!define MANUFACTURER "rollbook"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCTNAME}"
!define MANUPRODUCTKEY "Software\${MANUFACTURER}\${PRODUCTNAME}"

Name "${PRODUCTNAME}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${PRODUCTNAME}"
InstallDirRegKey HKLM "${MANUPRODUCTKEY}" ""
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCTNAME}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${PRODUCTNAME} installer"
VIAddVersionKey "LegalCopyright" ""

; As Tauri's template: the hooks read these.
Var DeleteAppDataCheckboxState
Var UpdateMode
Var DeleteAppDataCheckbox

!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
UninstPage custom un.DeleteAppDataPage un.DeleteAppDataLeave
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${PRODUCTNAME} needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  ; Per machine (tauri.conf.json: nsis.installMode perMachine): HKLM, Program Files.
  SetShellVarContext all
  StrCpy $UpdateMode 0
  ; No downgrades (allowDowngrades false): an installed newer version stays.
  ReadRegStr $0 HKLM "${UNINSTKEY}" "DisplayVersion"
  ${If} $0 != ""
    ${VersionCompare} "$0" "${VERSION}" $1
    ${If} $1 = 1
      MessageBox MB_ICONSTOP "${PRODUCTNAME} $0 is installed, newer than ${VERSION}." /SD IDOK
      SetErrorLevel 2
      Quit
    ${EndIf}
  ${EndIf}
FunctionEnd

Section "Install"
  !insertmacro NSIS_HOOK_PREINSTALL
  SetOutPath "$INSTDIR"
  File "/oname=rollbook.exe" "${CLI_EXE}"
!ifdef WINDOW_EXE
  File "/oname=${MAINBINARYNAME}.exe" "${WINDOW_EXE}"
  File "/oname=WebView2Loader.dll" "${WEBVIEW2_LOADER}"
  CreateShortCut "$SMPROGRAMS\${PRODUCTNAME}.lnk" "$INSTDIR\${MAINBINARYNAME}.exe"
!else
  DetailPrint "This test build carries the rollbook command only (no window executable)."
!endif
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; The deep-link scheme, as Tauri's template registers it (SHCTX: HKLM per machine).
  WriteRegStr SHCTX "Software\Classes\${IDENTIFIER}" "" "URL:${IDENTIFIER} protocol"
  WriteRegStr SHCTX "Software\Classes\${IDENTIFIER}" "URL Protocol" ""
  WriteRegStr SHCTX "Software\Classes\${IDENTIFIER}\DefaultIcon" "" "$\"$INSTDIR\${MAINBINARYNAME}.exe$\",0"
  WriteRegStr SHCTX "Software\Classes\${IDENTIFIER}\shell\open\command" "" "$\"$INSTDIR\${MAINBINARYNAME}.exe$\" $\"%1$\""

  WriteRegStr HKLM "${MANUPRODUCTKEY}" "" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${PRODUCTNAME}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "${MANUFACTURER}"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$\"$INSTDIR$\""
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" "$\"$INSTDIR\uninstall.exe$\""
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" "$\"$INSTDIR\uninstall.exe$\" /S"
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  !insertmacro NSIS_HOOK_POSTINSTALL
SectionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
  StrCpy $UpdateMode 0
  StrCpy $DeleteAppDataCheckboxState 0
FunctionEnd

Function un.DeleteAppDataPage
  !insertmacro MUI_HEADER_TEXT "Uninstall ${PRODUCTNAME}" "Remove ${PRODUCTNAME} from this computer."
  nsDialogs::Create 1018
  Pop $0
  ${NSD_CreateLabel} 0 0 100% 36u "The gradebook store in your data folder holds grades not yet sent to the district until you sign out (rollbook logout)."
  Pop $0
  ${NSD_CreateCheckbox} 0 44u 100% 12u "Delete the application data"
  Pop $DeleteAppDataCheckbox
  nsDialogs::Show
FunctionEnd

Function un.DeleteAppDataLeave
  ${NSD_GetState} $DeleteAppDataCheckbox $DeleteAppDataCheckboxState
FunctionEnd

Section "Uninstall"
  !insertmacro NSIS_HOOK_PREUNINSTALL
  Delete "$INSTDIR\rollbook.exe"
  Delete "$INSTDIR\${MAINBINARYNAME}.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCTNAME}.lnk"

  DeleteRegKey SHCTX "Software\Classes\${IDENTIFIER}"
  DeleteRegKey HKLM "${UNINSTKEY}"
  DeleteRegKey HKLM "${MANUPRODUCTKEY}"
  DeleteRegKey /ifempty HKLM "Software\${MANUFACTURER}"

  ; As Tauri's uninstaller: the web view's folders, when asked, never in an update.
  ${If} $DeleteAppDataCheckboxState = 1
  ${AndIf} $UpdateMode <> 1
    SetShellVarContext current
    RMDir /r "$APPDATA\${IDENTIFIER}"
    RMDir /r "$LOCALAPPDATA\${IDENTIFIER}"
    SetShellVarContext all
  ${EndIf}
  !insertmacro NSIS_HOOK_POSTUNINSTALL
SectionEnd
