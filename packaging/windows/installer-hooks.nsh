; Rollbook's additions to the NSIS installer, as Tauri's installer hooks
; (tauri.conf.json: bundle > windows > nsis > installerHooks). The same file is included
; by packaging/windows/rollbook.nsi, the equivalent installer built on Linux with
; Debian's makensis and tested under Wine (tests/windows/), so both installers carry the
; same PATH entry and data clean-up (docs/it-admins.md, "Installing").
;
; - The install folder (where rollbook.exe, the command, is) goes on the machine PATH,
;   and comes off it at uninstall, only if the install put it there: an entry an
;   administrator had already made stays (the install records that it added one, value
;   RollbookPathAdded of the uninstall key, read before that key goes). A PATH that
;   would not fit in NSIS strings (${NSIS_MAX_STRLEN} characters, with the install
;   folder added) is left alone, with a line in the details: writing back a cut or
;   emptied PATH breaks every other program.
; - "Delete the application data" (the uninstaller's checkbox, or /DELETEAPPDATA on
;   the command line, e.g. with /S) also runs `rollbook doctor --wipe-local-data` as the
;   user running the uninstaller, before rollbook.exe goes: it signs out (keychain
;   entries too) and deletes Rollbook's data (the encrypted store, the session record,
;   the sign-in options, an older release's roaming folder; the log folder stays), and
;   refuses while grades wait to be sent, so an uninstall never loses them: the
;   uninstaller then stops before it removes anything, says so, and exits with code 2
;   (Intune and Configuration Manager report a failed uninstall, not a clean one): the
;   program stays, so the grades can be sent (rollbook sync) or discarded (rollbook doctor
;   --wipe-local-data --discard-unsent) and the uninstall run again. The same for any
;   other failure of the wipe. Tauri's uninstaller itself removes only the
;   web view's folders (%LOCALAPPDATA%\org.rollbook.desktop). Never during an update.
;   "The user running the uninstaller" is the elevated one (this install is per
;   machine): an administrator who typed credentials at the UAC prompt for a standard
;   teacher, or SYSTEM under Intune/ConfigMgr, wipes their own profile, not the
;   teacher's. docs/it-admins.md says so and how to wipe as the teacher instead.

!include LogicLib.nsh
!include WordFunc.nsh
!include FileFunc.nsh
!include WinMessages.nsh

!define ROLLBOOK_ENVIRONMENT_KEY "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
; Under the uninstall key (UNINSTKEY, as Tauri's template and rollbook.nsi name it):
; 1 when the install added the install folder to the machine PATH.
!define ROLLBOOK_PATH_ADDED "RollbookPathAdded"
; Read at the start of the uninstall: the uninstall key is deleted before the PATH is
; changed.
Var RollbookPathAdded

!macro ROLLBOOK_PATH OP
  ; ReadRegStr gives "" (and the error flag) for a value longer than NSIS strings hold,
  ; and cuts one that fills them exactly: "" must never be taken for an empty PATH (it
  ; was: a 1,500-character PATH became "$INSTDIR" alone), nor a cut one written back.
  ; The length of what would be written is checked too: WordAdd's result is cut at
  ; ${NSIS_MAX_STRLEN} like any NSIS string.
  ClearErrors
  ReadRegStr $R0 HKLM "${ROLLBOOK_ENVIRONMENT_KEY}" "Path"
  StrLen $R1 $R0
  StrLen $R2 "$INSTDIR"
  IntOp $R2 $R2 + $R1
  IntOp $R2 $R2 + 1
  IntOp $R3 ${NSIS_MAX_STRLEN} - 1
  ${If} ${Errors}
  ${OrIf} $R1 = 0
  ${OrIf} $R2 >= $R3
    DetailPrint "The machine PATH is too long (or unreadable) to change safely; it is left as it is: add or remove $INSTDIR by hand."
  ${Else}
    ; Case-insensitive, whole entries only: "+" adds when absent, "-" removes.
    ${WordAdd} "$R0" ";" "${OP}$INSTDIR" $R1
    ${If} $R1 != $R0
      WriteRegExpandStr HKLM "${ROLLBOOK_ENVIRONMENT_KEY}" "Path" "$R1"
      !if "${OP}" == "+"
        ; Only what this install changed is undone at uninstall.
        WriteRegDWORD HKLM "${UNINSTKEY}" "${ROLLBOOK_PATH_ADDED}" 1
      !endif
      ; Programs started from now on (a new terminal) see the change.
      SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000
    ${EndIf}
  ${EndIf}
!macroend

!macro NSIS_HOOK_PREINSTALL
!macroend

!macro NSIS_HOOK_POSTINSTALL
  !insertmacro ROLLBOOK_PATH "+"
!macroend

!macro NSIS_HOOK_PREUNINSTALL
  ClearErrors
  ReadRegDWORD $RollbookPathAdded HKLM "${UNINSTKEY}" "${ROLLBOOK_PATH_ADDED}"
  ${If} ${Errors}
    StrCpy $RollbookPathAdded 0
  ${EndIf}
  ; A silent uninstall has no checkbox: the switch ticks it.
  ClearErrors
  ${GetOptions} $CMDLINE "/DELETEAPPDATA" $R0
  ${IfNot} ${Errors}
    StrCpy $DeleteAppDataCheckboxState 1
  ${EndIf}
  ${If} $DeleteAppDataCheckboxState = 1
  ${AndIf} $UpdateMode <> 1
    nsExec::ExecToLog '"$INSTDIR\rollbook.exe" doctor --wipe-local-data'
    Pop $R0
    ; Anything but 0 (2: grades wait to be sent; "error": it could not be run) stops
    ; the uninstall here, before anything is removed, with exit code 2.
    ${If} $R0 != 0
      DetailPrint "Rollbook was not uninstalled and its data was kept: rollbook doctor --wipe-local-data did not finish (exit $R0). If grades wait to be sent, send them (rollbook sync) or delete them (rollbook doctor --wipe-local-data --discard-unsent), then uninstall again; or uninstall without deleting the application data."
      MessageBox MB_ICONEXCLAMATION "Rollbook was not uninstalled, and its data was kept: rollbook doctor --wipe-local-data did not finish (exit $R0).$\r$\n$\r$\nIf grades wait to be sent, send them (rollbook sync, or Sync now in the window) or delete them (rollbook doctor --wipe-local-data --discard-unsent), then uninstall again. To remove the program and keep the data, uninstall without deleting the application data." /SD IDOK
      SetErrorLevel 2
      Abort "Rollbook was not uninstalled: its data could not be deleted (see above)."
    ${EndIf}
  ${EndIf}
!macroend

!macro NSIS_HOOK_POSTUNINSTALL
  ${If} $RollbookPathAdded = 1
    !insertmacro ROLLBOOK_PATH "-"
  ${Else}
    DetailPrint "The machine PATH is left as it is: this install did not add $INSTDIR to it."
  ${EndIf}
!macroend
